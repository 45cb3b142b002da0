package io.tapline.replay;

import io.tapline.journey.JourneyMessage;
import io.tapline.log.undo.UndoConfig;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One replica volume fed by something other than a journey session (the Kafka replayer in
 * {@code kafka-link}): the very same {@code ReplicaVolume} and apply path as the replayer's, with
 * its checks (batch and record CRC-32C, volume, range, sequence: at or below the last applied is
 * skipped, a hole is refused), its undo log, audit log and durable {@code applied.state}. Nothing
 * here re-implements applying; it only opens the volume outside {@link ReplayServer}.
 *
 * <p>Do not run a {@link ReplayServer} on the same data directory for the same volume: the two
 * would each believe they own the volume's files.
 *
 * <p>Not thread-safe: one thread opens, applies and closes; {@link #status} may be read from any
 * thread.
 */
public final class LocalReplica implements Closeable {
    private final ReplicaVolume volume;

    private LocalReplica(ReplicaVolume volume) {
        this.volume = volume;
    }

    /**
     * Opens (or creates) {@code hello.volumeId()} in {@code dataDir}, finishing any interrupted
     * rollback and undoing a half-applied group, exactly as the replayer does on a HELLO.
     *
     * @throws RefusedException when the volume exists with another size, block size or source
     */
    public static LocalReplica open(Path dataDir, JourneyMessage.Hello hello, UndoConfig undoConfig)
            throws IOException, RefusedException {
        return new LocalReplica(ReplicaVolume.open(dataDir, hello, undoConfig));
    }

    /**
     * Checks and applies {@code batches} as one group commit and returns, per batch, the last
     * applied sequence; durable on return.
     *
     * @throws io.tapline.journey.JourneyProtocolException when a batch is damaged or leaves a hole
     *         (the batches before it were applied and are durable)
     * @throws IOException when the replica cannot be written (the volume must then be reopened)
     */
    public long[] apply(java.util.List<JourneyMessage.Batch> batches) throws IOException {
        return volume.applyGroup(batches);
    }

    /**
     * The records from {@code firstMissing} on will never arrive (e.g. a Kafka topic's retention
     * deleted them): marks the replica out of sync from there, durably and audited; it then waits
     * for a resync's RESYNC_BEGIN, which {@link #apply} accepts across the hole (only a full copy
     * makes it consistent again).
     */
    public void recordsMissing(long firstMissing, String who, String detail) throws IOException {
        volume.recordsMissing(firstMissing, who, detail);
    }

    /**
     * The feeder stopped feeding this volume for {@code why} (a damaged record it will not skip):
     * kept beside the replica for {@code tapline status --data}, which then says failed with the
     * reason instead of consistent (the next open of the volume clears it).
     */
    public void feedStopped(String why) {
        volume.keepFailure("kafka feed stopped: " + why);
    }

    /**
     * The feeder waits for the next sequence with records past it on hand (a resend to come, or a
     * hole): kept for {@code tapline status --data} as {@link #feedStopped} is, so the replica is not
     * called consistent meanwhile; {@link #feedGoesOn} clears it.
     */
    public void feedWaiting(String why) {
        volume.keepFailure("kafka feed waiting: " + why);
    }

    /** The feeder applies again: whatever {@link #feedWaiting} kept is cleared. */
    public void feedGoesOn() {
        volume.clearKeptFailure();
    }

    /** Every record up to this sequence is applied and durable. */
    public long lastApplied() {
        return volume.lastApplied();
    }

    /** A snapshot for status; {@code connected} is the feeder's link state. */
    public VolumeStatus status(boolean connected) {
        return volume.status(connected);
    }

    @Override
    public void close() throws IOException {
        volume.close();
    }
}
