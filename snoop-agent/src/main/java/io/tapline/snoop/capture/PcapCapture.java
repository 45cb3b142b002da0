package io.tapline.snoop.capture;

import io.tapline.snoop.SnoopPipeline;
import io.tapline.snoop.tcp.TcpSegment;
import io.tapline.snoop.volume.VolumeRouter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongConsumer;
import org.pcap4j.core.BpfProgram;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface;
import org.pcap4j.core.PcapStat;
import org.pcap4j.core.Pcaps;
import org.pcap4j.core.RawPacketListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads frames with Pcap4J's raw path ({@code PcapHandle.loop} with a {@link RawPacketListener}:
 * no packet objects), live from an interface with a BPF filter or offline from a pcap or pcapng
 * file (libpcap reads both), and feeds a {@link SnoopPipeline}.
 *
 * <p>Loss is made explicit: a frame the snaplen cut becomes a stream gap of the missing bytes
 * (via the TCP length); a rise of the live capture's drop counter ({@code getStats()}) becomes a
 * whole-volume GAP on every volume seen, since the dropped packets' connections are unknown.
 *
 * <p>One capture per instance; {@link #run} blocks the calling thread (the capture thread),
 * {@link #stop} may be called from any thread.
 */
public final class PcapCapture implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PcapCapture.class);
    private static final int SNAPLEN_BYTES = 262144;
    private static final long STATS_EVERY_NANOS = 500_000_000L;

    private final PcapHandle handle;
    private final boolean live;
    private final FrameParser parser;
    private final CaptureCounters counters = new CaptureCounters();
    private volatile boolean stopped;

    private PcapCapture(PcapHandle handle, boolean live) {
        this.handle = handle;
        this.live = live;
        this.parser = new FrameParser(LinkType.fromWireValue(handle.getDlt().value()));
    }

    /**
     * Opens a pcap or pcapng file.
     *
     * @throws IOException naming the file when it is missing or not a capture file
     */
    public static PcapCapture openFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString());
        }
        try {
            return new PcapCapture(Pcaps.openOffline(file.toString(), PcapHandle.TimestampPrecision.NANO), false);
        } catch (PcapNativeException e) {
            throw new IOException("pcap: " + file + ": " + e.getMessage() + " (expected: a pcap or pcapng file)", e);
        } catch (IllegalArgumentException e) {
            throw new IOException("pcap: " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens a live capture on {@code interfaceName} (needs root or CAP_NET_RAW) with a kernel
     * buffer of {@code bufferBytes} and an optional BPF filter.
     */
    public static PcapCapture openLive(String interfaceName, String filter, int bufferBytes) throws IOException {
        try {
            PcapNetworkInterface nif = Pcaps.getDevByName(interfaceName);
            if (nif == null) {
                throw new IOException("interface: " + interfaceName + " (expected: a capture device, see ip link)");
            }
            PcapHandle handle = new PcapHandle.Builder(interfaceName).snaplen(SNAPLEN_BYTES)
                    .promiscuousMode(PcapNetworkInterface.PromiscuousMode.PROMISCUOUS).timeoutMillis(100)
                    .bufferSize(bufferBytes).timestampPrecision(PcapHandle.TimestampPrecision.NANO).build();
            if (filter != null && !filter.isBlank()) {
                handle.setFilter(filter, BpfProgram.BpfCompileMode.OPTIMIZE);
            }
            return new PcapCapture(handle, true);
        } catch (PcapNativeException | NotOpenException e) {
            throw new IOException("capture on " + interfaceName + ": " + e.getMessage(), e);
        }
    }

    public CaptureCounters counters() {
        return counters;
    }

    /**
     * Reads until end of file or {@link #stop}, then finishes the pipeline (held bytes delivered,
     * holes reported).
     *
     * @param progress called now and then with the bytes of the file read so far (pcap record
     *                 headers included; an estimate for pcapng)
     */
    public void run(SnoopPipeline pipeline, VolumeRouter router, LongConsumer progress) throws IOException {
        long[] lastStats = {System.nanoTime()};
        long[] fileBytes = {24};
        RawPacketListener listener = frame -> {
            Integer original = handle.getOriginalLength();
            int originalLength = original == null ? frame.length : original;
            counters.packets++;
            counters.bytes += frame.length;
            fileBytes[0] += 16 + frame.length;
            if (originalLength > frame.length) {
                counters.truncatedPackets++;
            }
            TcpSegment s = parser.parse(frame, originalLength, nanos());
            if (s != null) {
                pipeline.segment(s);
            }
            if ((counters.packets & 0x3FF) == 0) {
                progress.accept(fileBytes[0]);
                if (live && System.nanoTime() - lastStats[0] > STATS_EVERY_NANOS) {
                    lastStats[0] = System.nanoTime();
                    checkDrops(router);
                }
            }
        };
        try {
            while (!stopped) {
                try {
                    handle.loop(-1, listener);
                    if (!live) {
                        break;
                    }
                } catch (InterruptedException e) {
                    // breakLoop() was called: stop() asks for the end, anything else loops again
                    if (!live || stopped) {
                        break;
                    }
                }
                if (live) {
                    checkDrops(router);
                }
            }
        } catch (PcapNativeException e) {
            if (live) {
                throw new IOException("capture: " + e.getMessage(), e);
            }
            // A damaged or truncated file: what was read stands, the rest is a known loss.
            counters.fileError = e.getMessage();
            log.warn("capture file unreadable after packet={} error={}", counters.packets, e.getMessage());
            pipeline.finish();
            router.gapEverywhere("capture file unreadable after packet " + counters.packets + ": " + e.getMessage());
        } catch (NotOpenException e) {
            throw new IOException("capture: " + e.getMessage(), e);
        } finally {
            progress.accept(fileBytes[0]);
            if (live) {
                checkDrops(router);
            }
            pipeline.finish();
        }
    }

    private long nanos() {
        java.sql.Timestamp t = handle.getTimestamp();
        return t == null ? 0 : t.getTime() / 1000 * 1_000_000_000L + t.getNanos();
    }

    private void checkDrops(VolumeRouter router) {
        try {
            PcapStat st = handle.getStats();
            long drops = st.getNumPacketsDropped() + st.getNumPacketsDroppedByIf();
            if (drops > counters.drops) {
                long newDrops = drops - counters.drops;
                counters.drops = drops;
                log.warn("capture dropped packets count={} total={}", newDrops, drops);
                router.gapEverywhere("capture dropped " + newDrops + " packets");
            }
        } catch (PcapNativeException | NotOpenException e) {
            log.warn("capture statistics unavailable error={}", e.toString());
        }
    }

    /** Ends {@link #run} from any thread. */
    public void stop() {
        stopped = true;
        try {
            handle.breakLoop();
        } catch (NotOpenException e) {
            log.debug("stop after close error={}", e.toString());
        }
    }

    @Override
    public void close() {
        handle.close();
    }
}
