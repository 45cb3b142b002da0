package io.tapline.log.buffer;

import java.util.Map;

/**
 * A snapshot of a capture buffer's figures, for {@code tapline status} and metrics.
 *
 * @param volumeId                 the volume
 * @param mode                     DATA, HIGH_WATER or FULL
 * @param firstSequence            oldest retained record's sequence (lastSequence + 1 when empty)
 * @param lastSequence             newest appended sequence (0 when none ever)
 * @param retainedBytes            bytes in segment files
 * @param highWaterBytes           configured high-water mark
 * @param maxBytes                 configured maximum
 * @param acknowledged             per remote id: last sequence it acknowledged as durably applied
 * @param oldestUnackedTimeNanos   capture time of the oldest record some remote has not acked, 0 if none
 * @param lostWrites               writes not stored while FULL and not yet covered by a GAP record
 * @param gapRecords               GAP records appended so far (since creation), whatever made them
 * @param trackedChunks            chunks in the changed-chunk set awaiting a resync ({@code -1}: the whole volume)
 * @param wholeVolumeCause         why the whole volume is tracked ({@link ChangedChunks.WholeVolumeCause#text}); empty
 *                                 when it is not
 * @param storageError             why the last append could not be stored (empty when appends succeed)
 * @param capturePaused            why an operator paused capture (changed chunks are tracked instead); empty when not
 * @param durability               {@code durable}, or {@code write-once}: records unforced, a crash may lose
 *                                 unshipped ones (then a resync heals each replica; docs/ordering-contract.md)
 * @param crashCompareBytes        what a resync would compare after a crash now: the activity log's hot
 *                                 extents, or {@link #WHOLE_VOLUME} when the buffer keeps no log
 * @param powerCutCoveredFrom      the sequence a replica must have applied for a power cut now (which a
 *                                 write-once buffer's records do not survive) to compare only those hot
 *                                 extents; one further back compares every chunk. {@code -1} without a
 *                                 readable log, 0 after a clean close
 * @param released                 per remote the buffer stopped keeping records for (down while it held the
 *                                 buffer FULL for the others): what happened; its {@code acknowledged} is what
 *                                 its replica really acknowledged, not its moved cursor
 */
public record BufferStatus(
        String volumeId,
        BufferMode mode,
        long firstSequence,
        long lastSequence,
        long retainedBytes,
        long highWaterBytes,
        long maxBytes,
        Map<String, Long> acknowledged,
        long oldestUnackedTimeNanos,
        long lostWrites,
        long gapRecords,
        long trackedChunks,
        String wholeVolumeCause,
        String storageError,
        String capturePaused,
        String durability,
        long crashCompareBytes,
        long powerCutCoveredFrom,
        Map<String, String> released) {
    /** {@link #crashCompareBytes} when the buffer keeps no activity log: a crash compares every chunk. */
    public static final long WHOLE_VOLUME = -1;
    /** {@link #durability} of a buffer whose records are forced by FLUSH, FUA and every roll. */
    public static final String DURABLE = "durable";
    /** {@link #durability} of a {@link BufferConfig#writeOnce write-once} buffer. */
    public static final String WRITE_ONCE = "write-once";

    public BufferStatus {
        acknowledged = Map.copyOf(acknowledged);
        released = Map.copyOf(released);
    }

    /**
     * The buffer's half of whether a power cut now would leave every remote comparing only the hot
     * extents: each one acknowledged {@link #powerCutCoveredFrom}. Necessary, not sufficient: a
     * shipper moves a cursor past a hole its replica never applied, and a replica out of sync
     * acknowledges on; the replica's reported consistent point decides (the status command and
     * the metric check both).
     */
    public boolean powerCutCoversEveryRemote() {
        return powerCutCoveredFrom >= 0 && acknowledgedByAll() >= powerCutCoveredFrom;
    }

    /** The smallest sequence acknowledged by all remotes (lastSequence when there are none). */
    public long acknowledgedByAll() {
        return acknowledged.values().stream().mapToLong(Long::longValue).min().orElse(lastSequence);
    }

    /**
     * Whether every remote has every record and nothing awaits a resync. This is the buffer's
     * half of "synced"; the replica's own state (consistent or not) is the other half.
     */
    public boolean synced() {
        return mode != BufferMode.FULL && lostWrites == 0 && trackedChunks == 0 && storageError.isEmpty()
                && capturePaused.isEmpty() && acknowledgedByAll() >= lastSequence;
    }
}
