package io.tapline.replay;

import io.tapline.journey.JourneyMessage;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.volume.ImageStamp;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A source volume that grew (its primary image extended while the wedge was stopped, a LUN the
 * snoop-agent sees larger): the replica grows with it instead of refusing the source for ever
 * with "volume size mismatch". Only growth, of the same source and block size; a replica never
 * shrinks by itself (what lies past the new end would be dropped).
 *
 * <p>The replica's image grows sparse, and is then out of sync from the applied sequence with its
 * consistent point kept there: the new range reads as zeroes here but holds whatever the source's
 * does, so a resync compares it (the wedge tracks every chunk of a primary whose size changed
 * behind it). Rollbacks and images below that point stay exact for the old range.
 *
 * <p>Crash order: the out-of-sync state and the audit entry first, then the image, then
 * {@code volume.meta} (the volume has its new size once its metadata says so), then the image
 * stamp. A cut before the metadata leaves an image longer than the metadata, already out of sync:
 * the source's next HELLO grows it again, or (a source that came back smaller) the open trims it
 * back and takes it as changed outside the log. Never a replica that claims more than it holds.
 */
final class ReplicaGrowth {
    private static final Logger log = LoggerFactory.getLogger(ReplicaGrowth.class);

    private ReplicaGrowth() {
    }

    /**
     * Grows the closed replica of {@code hello}'s volume to the size the source now says, when it
     * is larger than stored and everything else matches; otherwise leaves it for the size check to
     * refuse.
     *
     * @return one line saying what grew, or null when nothing did
     */
    static String growIfLarger(Path dataDir, JourneyMessage.Hello hello) throws IOException {
        Path dir = dataDir.resolve(hello.volumeId());
        VolumeMeta meta = VolumeMeta.read(dir);
        if (meta == null || hello.volumeSizeBytes() <= meta.volumeSizeBytes()
                || meta.blockSizeBytes() != hello.blockSizeBytes() || !meta.sourceId().equals(hello.sourceId())
                || Files.exists(dir.resolve(ControlFiles.INTENT)) || Files.exists(dir.resolve(ControlFiles.PAUSED))) {
            return null;
        }
        Path image = dir.resolve(ReplicaVolume.REPLICA_FILE);
        if (!Files.isRegularFile(image)) {
            return null; // a device has its own size; the check names the mismatch
        }
        long from = meta.volumeSizeBytes();
        long to = hello.volumeSizeBytes();
        long applied;
        try (AppliedState state = AppliedState.open(dir)) {
            applied = state.lastApplied();
            state.persist(applied, state.sync().recordsMissingFrom(applied + 1, applied));
        }
        String detail = "volume grew from " + from + " to " + to + " bytes (source " + hello.sourceId() + ") at seq "
                + applied + ": the replica grew with it; the new range is out of sync until a resync compares it";
        try (AuditLog audit = AuditLog.open(dir)) {
            audit.append(AuditType.CONFIG, applied, 0, from, to - from, 0, 0, null, hello.sourceId(), detail);
            audit.sync();
        }
        boolean stamped = Files.exists(dir.resolve(ReplicaVolume.STAMP_FILE));
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(to); // sparse: the new range takes no space until written
            f.getFD().sync();
        }
        new VolumeMeta(to, meta.blockSizeBytes(), meta.sourceId()).write(dir);
        if (stamped) {
            ImageStamp.write(dir.resolve(ReplicaVolume.STAMP_FILE), image); // our own change, not another program's
        }
        log.warn("volume={} {}", hello.volumeId(), detail);
        return "volume " + hello.volumeId() + " " + detail;
    }
}
