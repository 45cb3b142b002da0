package io.tapline.journey.resync;

/**
 * Where a volume in cycle mode stands, for status and metrics.
 *
 * @param cycleSeconds        the configured cycle length: a cycle starts this long after the last
 *                            one was frozen, if the host wrote, and never before the last copy completed
 * @param activeCycle         the cycle taking the host's writes
 * @param changedBlocks       4 KiB blocks written in it so far (not on any replica yet)
 * @param frozenCycle         the cycle frozen and being copied; 0 when none
 * @param frozenAtMillis      when it was frozen; 0 when none
 * @param chunksToCopy        chunks of the frozen cycle still to compare and send
 * @param lastCopiedCycle     the last cycle every replica acknowledged; 0 when none since start
 * @param lastCopiedAtMillis  when that cycle was frozen: the point in time the replicas hold
 * @param lastCopyMillis      how long that cycle's copy took, freeze to last acknowledgment
 * @param cyclesCopied        cycles completed since start
 * @param replicaImageAgeMillis how old the replicas' image is (the achieved RPO), by the monotonic clock
 *                            since the freeze: immune to the wall clock's steps; 0 when not known (no cycle
 *                            copied since start, or written by a build before 2026-12-07): then the age is
 *                            the wall clock's distance from {@code lastCopiedAtMillis}
 */
public record CycleStatus(long cycleSeconds, long activeCycle, long changedBlocks, long frozenCycle,
        long frozenAtMillis, long chunksToCopy, long lastCopiedCycle, long lastCopiedAtMillis, long lastCopyMillis,
        long cyclesCopied, long replicaImageAgeMillis) {

    /** The replicas' image age at {@code nowMillis} (wall clock; used only when the monotonic age is not known), or -1 before any cycle was copied. */
    public long imageAgeMillis(long nowMillis) {
        if (replicaImageAgeMillis > 0) {
            return replicaImageAgeMillis;
        }
        return lastCopiedAtMillis == 0 ? -1 : Math.max(0, nowMillis - lastCopiedAtMillis);
    }
}
