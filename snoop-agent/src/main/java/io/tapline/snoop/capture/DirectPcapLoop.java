package io.tapline.snoop.capture;

import com.sun.jna.Pointer;
import java.io.IOException;
import java.lang.reflect.Field;
import org.pcap4j.core.PcapHandle;

/**
 * The live capture thread's loop: {@code pcap_dispatch} on the handle Pcap4J opened and
 * configured, with a callback that copies each frame straight from libpcap's ring into the
 * {@link FrameQueue}. Pcap4J's own raw loop ({@code PcapHandle.loop} with a
 * {@code RawPacketListener}) allocates per packet a zeroed array and copies into it, a
 * {@code java.sql.Timestamp} and a task object; at line rate that garbage made the collector run
 * several times a second, and each of its pauses stops the capture thread at its next callback
 * while the kernel ring fills. Here a packet costs one copy and no array.
 *
 * <p>Pcap4J stays the owner of the handle: it opens, filters, reports statistics, breaks the loop
 * and closes; only the per-packet path is this class. The handle's {@code pcap_t} pointer is read
 * from Pcap4J's private field (1.8.2, pinned in the root pom).
 *
 * <p>Used by one thread; {@link #run} returns when the loop is broken or fails.
 */
final class DirectPcapLoop {
    /** {@code struct pcap_pkthdr} on LP64 Linux: {@code struct timeval} (two longs), caplen, len. */
    private static final int TV_SEC = 0;
    private static final int TV_FRAC = 8;
    private static final int CAPLEN = 16;
    private static final int LEN = 20;
    /** {@code pcap_dispatch}: the loop was broken by {@code pcap_breakloop}. */
    private static final int BREAK = -2;

    /** Receives a frame's metadata and the frame bytes (only valid during the call). */
    interface Sink {
        void frame(Pointer bytes, int capturedLength, int originalLength, long timeNanos);
    }

    private final Pointer pcap;
    private final boolean nanoPrecision;

    DirectPcapLoop(PcapHandle handle) {
        this.pcap = pcapPointer(handle);
        this.nanoPrecision = handle.getTimestampPrecision() == PcapHandle.TimestampPrecision.NANO;
    }

    private static Pointer pcapPointer(PcapHandle handle) {
        try {
            Field f = PcapHandle.class.getDeclaredField("handle");
            f.setAccessible(true);
            return (Pointer) f.get(handle);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("Pcap4J's PcapHandle has no pcap_t field 'handle' (version changed?)", e);
        }
    }

    /**
     * Dispatches packets to {@code sink} until the loop is broken ({@code pcap_breakloop}, i.e.
     * Pcap4J's {@code breakLoop}) and {@code stopped} answers true.
     *
     * @throws IOException with libpcap's message when reading fails
     */
    void run(Sink sink, java.util.function.BooleanSupplier stopped) throws IOException {
        LibPcap.PacketCallback callback = (user, header, bytes) -> {
            long sec = header.getLong(TV_SEC);
            long frac = header.getLong(TV_FRAC);
            long nanos = sec * 1_000_000_000L + (nanoPrecision ? frac : frac * 1000L);
            sink.frame(bytes, header.getInt(CAPLEN), header.getInt(LEN), nanos);
        };
        while (!stopped.getAsBoolean()) {
            int n = LibPcap.Holder.PCAP.pcap_dispatch(pcap, -1, callback, null);
            if (n == -1) {
                throw new IOException(LibPcap.Holder.PCAP.pcap_geterr(pcap));
            }
            if (n == BREAK && stopped.getAsBoolean()) {
                return;
            }
        }
    }
}
