package io.tapline.replay;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocolException;
import io.tapline.log.CaptureRecord;
import io.tapline.log.volume.VolumeFile;
import io.tapline.log.volume.VolumeSizeMismatchException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replicated volume on the replayer: {@code replica.img}, {@code volume.meta} and
 * {@code applied.state} in {@code <data>/<volumeId>/}, and the rule that applies batches.
 *
 * <p>Ordering contract: records are applied strictly in sequence. A record at or below the last
 * applied sequence is skipped (its CRC was checked when the batch was unpacked); the next one is
 * applied; anything further is a hole and the batch is rejected before any byte lands. Example:
 * last applied 10, batch 9..12 skips 9 and 10, applies 11 and 12; batch 12..13 is rejected.
 *
 * <p>Durability contract: {@link #apply} returns only after the replica was fdatasync'd and the
 * new last-applied sequence was persisted, so the ACK that follows promises stable storage.
 *
 * <p>Not thread-safe: every method runs on the volume's own apply thread.
 */
final class ReplicaVolume implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaVolume.class);
    static final String REPLICA_FILE = "replica.img";

    private final String volumeId;
    private final VolumeMeta meta;
    private final VolumeFile replica;
    private final AppliedState state;
    private final AtomicLong bytesApplied = new AtomicLong();
    private volatile long lastApplied;
    private volatile boolean outOfSync;

    private ReplicaVolume(String volumeId, VolumeMeta meta, VolumeFile replica, AppliedState state) {
        this.volumeId = volumeId;
        this.meta = meta;
        this.replica = replica;
        this.state = state;
        this.lastApplied = state.lastApplied();
        this.outOfSync = state.outOfSync();
    }

    /**
     * Opens the volume for {@code hello}, creating it when its directory has no metadata yet.
     *
     * @throws RefusedException when the volume exists with another size, block size or source
     */
    static ReplicaVolume open(Path dataDir, JourneyMessage.Hello hello) throws IOException, RefusedException {
        Path dir = dataDir.resolve(hello.volumeId());
        Files.createDirectories(dir);
        VolumeMeta existing = VolumeMeta.read(dir);
        VolumeMeta wanted = new VolumeMeta(hello.volumeSizeBytes(), hello.blockSizeBytes(), hello.sourceId());
        if (existing != null) {
            checkSame(hello, existing);
        }
        VolumeFile replica;
        try {
            replica = VolumeFile.openOrCreate(dir.resolve(REPLICA_FILE), hello.volumeSizeBytes());
        } catch (VolumeSizeMismatchException e) {
            throw new RefusedException("volume size mismatch: " + e.getMessage());
        }
        try {
            AppliedState state = AppliedState.open(dir);
            if (existing == null) {
                replica.force();
                wanted.write(dir); // last: the volume exists once its metadata does
                log.info("volume created volume={} sizeBytes={} blockSizeBytes={} source={} dir={}",
                        hello.volumeId(), hello.volumeSizeBytes(), hello.blockSizeBytes(), hello.sourceId(), dir);
            }
            ReplicaVolume volume = new ReplicaVolume(hello.volumeId(), wanted, replica, state);
            log.info("volume opened volume={} lastApplied={} outOfSync={}", hello.volumeId(), volume.lastApplied,
                    volume.outOfSync);
            return volume;
        } catch (IOException | RuntimeException e) {
            replica.close();
            throw e;
        }
    }

    /** Checks that a later HELLO describes the volume this one was created for. */
    void checkSame(JourneyMessage.Hello hello) throws RefusedException {
        checkSame(hello, meta);
    }

    private static void checkSame(JourneyMessage.Hello hello, VolumeMeta meta) throws RefusedException {
        if (meta.volumeSizeBytes() != hello.volumeSizeBytes()) {
            throw new RefusedException("volume size mismatch: volumeSizeBytes: " + hello.volumeSizeBytes()
                    + " (expected: " + meta.volumeSizeBytes() + " as stored for volume " + hello.volumeId() + ")");
        }
        if (meta.blockSizeBytes() != hello.blockSizeBytes()) {
            throw new RefusedException("block size mismatch: blockSizeBytes: " + hello.blockSizeBytes()
                    + " (expected: " + meta.blockSizeBytes() + " as stored for volume " + hello.volumeId() + ")");
        }
        if (!meta.sourceId().equals(hello.sourceId())) {
            throw new RefusedException("source mismatch: sourceId: " + hello.sourceId() + " (expected: "
                    + meta.sourceId() + ", the source volume " + hello.volumeId() + " was created for)");
        }
    }

    /**
     * Checks and applies a batch, makes it durable, and returns the new last applied sequence.
     *
     * @throws JourneyProtocolException when the batch is damaged, of another volume, or leaves a
     *         hole in the sequence; nothing was written then
     * @throws IOException when the replica or the state file cannot be written
     */
    long apply(JourneyMessage.Batch batch) throws IOException {
        List<CaptureRecord> records = BatchCodec.unpack(batch);
        long expected = lastApplied + 1;
        if (batch.firstSequence() > expected) {
            throw new JourneyProtocolException("sequence: batch " + batch.batchId() + " starts at "
                    + batch.firstSequence() + " (expected: <= " + expected + ", last applied " + lastApplied
                    + ") volume=" + volumeId + ": a hole is never skipped");
        }
        for (CaptureRecord r : records) {
            check(r);
        }
        boolean dirty = false;
        boolean gap = outOfSync;
        long firstGap = state.firstGapSequence();
        for (CaptureRecord r : records) {
            if (r.sequence() < expected) {
                continue;
            }
            switch (r.kind()) {
                case WRITE -> replica.write(r.offsetBytes(), r.payload());
                case WRITE_ZEROES -> replica.zero(r.offsetBytes(), r.lengthBytes(),
                        (r.flags() & CaptureRecord.FLAG_NO_HOLE) == 0);
                case DISCARD -> replica.zero(r.offsetBytes(), r.lengthBytes(), true);
                case FLUSH -> replica.force();
                case MARK -> log.debug("mark volume={} seq={} name={}", volumeId, r.sequence(), r.text());
                case GAP -> {
                    log.warn("capture gap volume={} seq={} offset={} length={} reason={}; replica is out of sync "
                            + "until resync", volumeId, r.sequence(), r.offsetBytes(), r.lengthBytes(), r.text());
                    gap = true;
                    firstGap = firstGap == 0 ? r.sequence() : firstGap;
                }
                default -> throw new IllegalStateException("kind: " + r.kind());
            }
            if (r.kind().changesData()) {
                dirty = true;
                bytesApplied.addAndGet(r.lengthBytes());
                if (r.fua()) {
                    replica.force();
                }
            }
            expected++;
        }
        long newLast = expected - 1;
        if (newLast == lastApplied && gap == outOfSync) {
            return lastApplied; // a re-sent batch: nothing new to make durable
        }
        if (dirty) {
            replica.force();
        }
        state.persist(newLast, gap, firstGap);
        lastApplied = newLast;
        outOfSync = gap;
        return newLast;
    }

    private void check(CaptureRecord r) {
        if (!r.volumeId().equals(volumeId)) {
            throw new JourneyProtocolException(
                    "record volume: " + r.volumeId() + " (expected: " + volumeId + ") seq=" + r.sequence());
        }
        if (r.kind().changesData()
                && (r.offsetBytes() > meta.volumeSizeBytes() || r.lengthBytes() > meta.volumeSizeBytes() - r.offsetBytes())) {
            throw new JourneyProtocolException("record range: offset " + r.offsetBytes() + " length "
                    + r.lengthBytes() + " (expected: inside volume of " + meta.volumeSizeBytes() + " bytes) volume="
                    + volumeId + " seq=" + r.sequence());
        }
    }

    String volumeId() {
        return volumeId;
    }

    /** Any thread: the volume's figures. */
    VolumeStatus status(boolean sessionConnected) {
        return new VolumeStatus(volumeId, lastApplied, outOfSync, bytesApplied.get(), sessionConnected);
    }

    long lastApplied() {
        return lastApplied;
    }

    @Override
    public void close() throws IOException {
        try {
            replica.close();
        } finally {
            state.close();
        }
    }
}
