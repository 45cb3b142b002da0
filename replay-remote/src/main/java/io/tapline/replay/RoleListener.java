package io.tapline.replay;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Told by the replayer when a volume changes role, on the volume's apply thread, so that the
 * node can serve it: a promoted volume read-write to its host (its files are closed by the
 * replayer first), a demoted one as a standby export again.
 */
public interface RoleListener {
    /** Does nothing: a replayer without a host-facing endpoint. */
    RoleListener NONE = new RoleListener() {
        @Override
        public void promoted(String volumeId, Path volumeDir, VolumeRole role, long sizeBytes) {
        }

        @Override
        public String demoting(String volumeId, Path volumeDir, VolumeRole role, boolean handOver) {
            return "nothing (this replayer serves no NBD endpoint: no host wrote the volume here)";
        }
    };

    /**
     * The volume is primary here now: {@code volumeDir/replica.img} may be served read-write.
     *
     * @throws IOException when it cannot be served; the volume stays primary (and fenced) and the
     *         administrator is told
     */
    void promoted(String volumeId, Path volumeDir, VolumeRole role, long sizeBytes) throws IOException;

    /** What {@link #demoting} returns when the host wrote nothing while the volume was primary here. */
    String NOTHING_WRITTEN = "nothing (no chunk was written)";

    /**
     * The volume is about to become a secondary again: stop serving it read-write and keep what
     * was written while it was primary; returns one line saying where that was kept
     * ({@link #NOTHING_WRITTEN} when nothing was: the replica is as it was at its promotion).
     *
     * @param handOver a switchover's: every write must reach the remotes, else the demotion is aborted
     * @throws IOException to abort the demotion (the volume stays primary)
     */
    String demoting(String volumeId, Path volumeDir, VolumeRole role, boolean handOver) throws IOException;

    /**
     * A source of a newer generation than the volume's here tried to ship while the volume is
     * primary here: another node was promoted, so this node's host must stop writing at once
     * ({@code reason} says why, for status). The default does nothing (no host is served).
     */
    default void superseded(String volumeId, Path volumeDir, VolumeRole role, long newerGeneration, String reason) {
    }
}
