package io.tapline.journey.resync;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Appends the source's current bytes of differing ranges to the capture buffer as WRITE records,
 * at a quiescent point of the sequence ({@link SourceVolume#atQuiescentPoint}) so that no host
 * write in flight can be overtaken: a record's bytes are exactly the primary's bytes at its
 * sequence. A range the buffer cannot store (FULL) is tracked by the buffer as a changed chunk
 * and healed by the next resync.
 *
 * <p>Not thread-safe: one resync thread.
 */
final class ResyncWriter {
    /** Largest resync WRITE record. */
    static final int MAX_RECORD_BYTES = 1 << 20;
    /** Bytes read and appended per quiescent point, so the host's writes never wait long. */
    static final long MAX_BYTES_PER_PAUSE = 8L << 20;
    private static final long ROOM_TIMEOUT_NANOS = 300_000_000_000L;

    private final SourceVolume volume;
    private final CaptureBuffer buffer;
    private final Provenance provenance;
    /** The digest of the epoch's WRITEs (cycle mode), null when not kept. */
    private io.tapline.log.audit.CycleDigest digest;

    ResyncWriter(SourceVolume volume, CaptureBuffer buffer, String epochText) {
        this.volume = volume;
        this.buffer = buffer;
        this.provenance = new Provenance(io.tapline.log.Bus.INTERNAL, "resync", epochText, 0, 0, 0);
    }

    /** Keeps the digest of every WRITE appended from now on (a cycle's copy). */
    void keepDigest() {
        digest = new io.tapline.log.audit.CycleDigest();
    }

    /** The digest's text for the RESYNC_END (see {@link io.tapline.log.audit.CycleDigest}); empty when not kept. */
    String digestText() {
        return digest == null ? "" : digest.text();
    }

    /** A byte range of the volume. */
    record Range(long offsetBytes, long lengthBytes) {
    }

    /** Appends every range; returns the bytes appended. */
    long write(List<Range> wanted) throws IOException, InterruptedException {
        long sent = 0;
        int i = 0;
        long perPause = Math.max(MAX_RECORD_BYTES, Math.min(MAX_BYTES_PER_PAUSE, buffer.status().highWaterBytes() / 4));
        List<Range> ranges = new java.util.ArrayList<>();
        for (Range r : wanted) {
            for (long done = 0; done < r.lengthBytes(); done += perPause) {
                ranges.add(new Range(r.offsetBytes() + done, Math.min(perPause, r.lengthBytes() - done)));
            }
        }
        while (i < ranges.size()) {
            int from = i;
            long bytes = 0;
            while (i < ranges.size() && (i == from || bytes + ranges.get(i).lengthBytes() <= perPause)) {
                bytes += ranges.get(i).lengthBytes();
                i++;
            }
            List<Range> slice = ranges.subList(from, i);
            awaitRoom(bytes);
            sent += volume.atQuiescentPoint(() -> appendAll(slice));
        }
        return sent;
    }

    /**
     * Back-pressure: waits until the buffer can take {@code bytes} below its high-water mark, so a
     * resync never fills the buffer itself (that would turn its own writes into tracked chunks).
     */
    private void awaitRoom(long bytes) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + ROOM_TIMEOUT_NANOS;
        while (true) {
            io.tapline.log.buffer.BufferStatus st = buffer.status();
            if (st.retainedBytes() + bytes <= st.highWaterBytes() || st.retainedBytes() <= st.highWaterBytes() / 4) {
                return;
            }
            // What the replicas acknowledged may sit in the active segment, which the buffer frees
            // only past high water: freed for this wait (a small --buffer-max beside its segments).
            buffer.releaseAcknowledgedForRoom();
            st = buffer.status();
            if (st.retainedBytes() + bytes <= st.highWaterBytes() || st.retainedBytes() <= st.highWaterBytes() / 4) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("capture buffer holds " + st.retainedBytes() + " bytes (high water "
                        + st.highWaterBytes() + ") for " + ROOM_TIMEOUT_NANOS / 1_000_000_000L
                        + " s, not yet acknowledged by every remote");
            }
            // Room returns when replicas acknowledge, on link threads with no hook for this thread;
            // a 20 ms look on the resync thread costs nothing and never touches the host's path.
            Thread.sleep(20);
        }
    }

    /** Appends a RESYNC_BEGIN or RESYNC_END at a quiescent point; returns its sequence. */
    long marker(RecordKind kind, byte[] payload) throws IOException, InterruptedException {
        CaptureRecord r = volume.atQuiescentPoint(() -> buffer.append(kind, 0, 0, 0, provenance, payload));
        if (r == null) {
            throw new IOException("capture buffer cannot store the " + kind + " record (FULL or failing): "
                    + "the resync waits for space");
        }
        return r.sequence();
    }

    private long appendAll(List<Range> ranges) throws IOException {
        long sent = 0;
        for (Range range : ranges) {
            long done = 0;
            while (done < range.lengthBytes()) {
                int n = (int) Math.min(MAX_RECORD_BYTES, range.lengthBytes() - done);
                byte[] data = new byte[n];
                long offset = range.offsetBytes() + done;
                volume.read(offset, ByteBuffer.wrap(data));
                if (buffer.append(RecordKind.WRITE, offset, n, 0, provenance, data) != null && digest != null) {
                    digest.addWrite(offset, data);
                }
                done += n;
                sent += n;
            }
        }
        return sent;
    }
}
