package io.tapline.tools;

import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.log.buffer.BufferStatus;

/**
 * Whether a write-once buffer's power cut now would heal a replica by the activity log's hot
 * extents (not every chunk), judged as the resync engine will judge it: by the replica's own
 * report, not by what it acknowledged (a shipper moves a cursor past a hole the replica has not
 * applied). A replica is covered when it reported a consistent point at or after
 * {@link BufferStatus#powerCutCoveredFrom} (above 0) and is not inside a resync epoch (a cut
 * abandons the epoch, and a replica left resyncing gets every chunk). No report: not covered.
 */
final class PowerCutCoverage {
    private PowerCutCoverage() {
    }

    /** Whether the replica whose last report was {@code state} at {@code consistentSequence} is covered. */
    static boolean covers(long coveredFrom, String state, Long consistentSequence) {
        return coveredFrom >= 0 && state != null && consistentSequence != null && consistentSequence > 0
                && consistentSequence >= coveredFrom
                && (state.equals(ReplicaStateReport.CONSISTENT) || state.equals(ReplicaStateReport.OUT_OF_SYNC));
    }

    /** Whether the replica of {@code report} (null: none yet) is covered. */
    static boolean covers(long coveredFrom, ReplicaStateReport report) {
        return report != null && covers(coveredFrom, report.state(), report.consistentSequence());
    }
}
