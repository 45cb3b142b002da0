package io.tapline.snoop.source;

import io.tapline.journey.resync.SourceVolume;
import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.log.buffer.SequenceNotRetainedException;
import io.tapline.snoop.capture.CaptureCounters;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The volume a snoop-agent taps, as a resync reads it: through a read-only NBD connection
 * ({@link NbdSourceReader}). A passive tap cannot pause the host, so there is no true quiescent
 * point; {@link #atQuiescentPoint} gets the same guarantee another way.
 *
 * <h2>Contract</h2>
 * The action reads ranges from the source and appends them as resync WRITEs. A host write W that
 * overlaps such a range R is harmless when its record lands after R's (it is newer or equal and
 * wins on the replica) or when it completed before the action began (the read saw it). The one
 * bad case is W completing while R was being read and decoded before R was appended: R may hold
 * the older bytes and overwrite W's. So after the action, once the agent has decoded every packet
 * captured before the action ended, every resync WRITE that overlaps a host record appended since
 * the action began is tracked again as a changed chunk: the next resync epoch redoes it.
 * Example: seq 500 is the last record before the action; R (4 KiB at 1 MiB) is read, W (512 B at
 * 1 MiB + 512) completes meanwhile and is decoded as seq 501, R is appended as seq 502: the range of
 * R is tracked and compared again later; had W been decoded as seq 503, nothing would be redone.
 *
 * <p>Thread-safe: reads are serialized by the reader; one resync engine calls the rest.
 */
public final class SnoopSourceVolume implements SourceVolume {
    private static final Logger log = LoggerFactory.getLogger(SnoopSourceVolume.class);
    private static final long CATCH_UP_MILLIS = 30_000;

    private final NbdSourceReader reader;
    private final CaptureBuffer buffer;
    private final CaptureCounters capture;

    public SnoopSourceVolume(NbdSourceReader reader, CaptureBuffer buffer, CaptureCounters capture) {
        this.reader = reader;
        this.buffer = buffer;
        this.capture = capture;
    }

    @Override
    public long sizeBytes() {
        return reader.sizeBytes();
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        reader.read(offsetBytes, dst);
    }

    @Override
    public <T> T atQuiescentPoint(Action<T> action) throws IOException, InterruptedException {
        long before = buffer.lastSequence();
        T result = action.run();
        long endedAt = System.currentTimeMillis();
        boolean caughtUp = awaitDecoded(endedAt);
        redoOverlaps(before, caughtUp);
        return result;
    }

    private boolean awaitDecoded(long sinceMillis) throws InterruptedException {
        long deadline = System.nanoTime() + CATCH_UP_MILLIS * 1_000_000L; // the wait by the monotonic clock (probe Y D8)
        while (!capture.decodedEverythingUpTo(sinceMillis, System.currentTimeMillis())) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            // The capture thread must not signal per packet: the resync thread looks every 20 ms.
            Thread.sleep(20);
        }
        return true;
    }

    /** Tracks again every resync WRITE appended after {@code before} that a host record since then overlaps. */
    private void redoOverlaps(long before, boolean caughtUp) throws IOException, InterruptedException {
        List<CaptureRecord> resync = new ArrayList<>();
        List<long[]> host = new ArrayList<>();
        try (RecordReader r = buffer.openReader(before + 1)) {
            for (CaptureRecord c = r.next(0); c != null; c = r.next(0)) {
                if (c.kind() == RecordKind.WRITE && "resync".equals(c.provenance().initiator())) {
                    resync.add(c);
                } else if (c.kind().changesData() || c.kind() == RecordKind.GAP) {
                    host.add(new long[] {c.offsetBytes(), c.lengthBytes()});
                }
            }
        } catch (SequenceNotRetainedException e) {
            caughtUp = false; // acknowledged and deleted already: cannot prove anything, redo all
            log.debug("records after seq {} no longer retained: resync writes are tracked again", before);
        }
        int redone = 0;
        for (CaptureRecord r : resync) {
            boolean overlaps = !caughtUp;
            for (long[] h : host) {
                overlaps |= h[0] < r.offsetBytes() + r.lengthBytes() && r.offsetBytes() < h[0] + h[1];
            }
            if (overlaps) {
                buffer.changedChunks().mark(r.offsetBytes(), r.lengthBytes());
                redone++;
            }
        }
        if (redone > 0) {
            log.info("resync writes overlapped by host writes in flight are tracked again volume={} count={}"
                    + " caughtUp={}", buffer.volumeId(), redone, caughtUp);
        }
    }
}
