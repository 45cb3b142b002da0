package io.tapline.replay;

import io.tapline.log.CaptureRecord;
import java.util.Arrays;

/**
 * In memory, per granule of the replica: the newest applied sequence that changed it. An online
 * verify uses it to tell a real difference from a write in flight: a replica chunk whose newest
 * change is at or below the sequence the source's hash was taken at can be compared exactly.
 * Granules are 1 MiB, or larger so that the table stays under 1 Mi entries. After a restart the
 * history is unknown: every granule starts at the applied sequence (conservative: "maybe just
 * written").
 *
 * <p>Not thread-safe: the volume's apply thread only.
 */
final class ChunkWrites {
    private static final int MAX_GRANULES = 1 << 20;
    private final int granuleShift;
    private final long[] newest;

    ChunkWrites(long volumeSizeBytes, long appliedSequence) {
        int shift = 20;
        while (((volumeSizeBytes - 1) >>> shift) + 1 > MAX_GRANULES) {
            shift++;
        }
        this.granuleShift = shift;
        this.newest = new long[(int) (((Math.max(1, volumeSizeBytes) - 1) >>> shift) + 1)];
        Arrays.fill(newest, appliedSequence);
    }

    /** Notes an applied record. */
    void applied(CaptureRecord r) {
        if (!r.kind().changesData() || r.lengthBytes() == 0) {
            return;
        }
        int first = (int) (r.offsetBytes() >>> granuleShift);
        int last = (int) Math.min(newest.length - 1, (r.offsetBytes() + r.lengthBytes() - 1) >>> granuleShift);
        for (int g = first; g <= last; g++) {
            newest[g] = r.sequence();
        }
    }

    /** After a rollback every granule may have changed at {@code sequence}. */
    void reset(long sequence) {
        Arrays.fill(newest, sequence);
    }

    /** Newest sequence that changed any byte of {@code [offset, offset + length)}. */
    long newestIn(long offsetBytes, long lengthBytes) {
        int first = (int) Math.min(newest.length - 1, offsetBytes >>> granuleShift);
        int last = (int) Math.min(newest.length - 1, (offsetBytes + Math.max(1, lengthBytes) - 1) >>> granuleShift);
        long max = 0;
        for (int g = first; g <= last; g++) {
            max = Math.max(max, newest[g]);
        }
        return max;
    }
}
