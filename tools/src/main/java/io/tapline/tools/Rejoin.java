package io.tapline.tools;

import io.tapline.log.DurableFiles;
import io.tapline.replay.VolumeRole;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fenced primary becomes its promoted peer's secondary: what it captured after the sequence
 * the peer had applied (records that never arrived there) is copied into
 * {@code discarded-<its generation>.img}, its source side (wedge, shippers, buffer) stops and
 * its buffer is deleted (its records belong to a generation that ended), and its role becomes
 * a secondary of the peer's generation. The node's replayer then accepts the peer's shipping,
 * which starts with a whole-volume checksum resync (the image is adopted as out of sync).
 */
final class Rejoin {
    private static final Logger LOG = LoggerFactory.getLogger(Rejoin.class);

    private Rejoin() {
    }

    /**
     * @param node      the fenced source side, already fenced (no host write in flight)
     * @param volumeDir the volume's directory in the node's data
     * @param image     the volume image (the old primary)
     * @param servedReplica whether the volume was a promoted replica here (its replica files exist:
     *                  the replayer marks it out of sync when it next opens it)
     * @return one line: what was kept and the new role
     */
    static String run(String volumeId, SourceNode node, Path bufferVolumeDir, Path volumeDir, Path image,
            long sizeBytes, VolumeRole.Fence fence, UnshippedRecords unshipped, String actor, boolean servedReplica)
            throws IOException {
        VolumeRole role = VolumeRole.read(volumeDir);
        String kept;
        if (unshipped.records() == 0 || unshipped.ranges().isEmpty()) {
            kept = unshipped.records() + " records after seq " + fence.sequence() + ", no data to keep";
        } else {
            Path discarded = volumeDir.resolve("discarded-" + role.generation() + ".img");
            long bytes = DiscardedImage.write(image, sizeBytes, unshipped.ranges(), discarded);
            kept = unshipped.records() + " records after seq " + fence.sequence() + " (" + bytes + " bytes) kept in "
                    + discarded;
        }
        // The role first: a power cut from here on restarts a secondary, whose stale buffer goes then.
        VolumeRole secondary = role.fencedBy(fence, System.currentTimeMillis(), actor, servedReplica);
        secondary.write(volumeDir);
        node.close();
        DurableFiles.deleteTree(bufferVolumeDir);
        String line = "volume " + volumeId + " rejoined as secondary of generation " + secondary.generation() + ": "
                + kept;
        LOG.warn(line);
        return line;
    }
}
