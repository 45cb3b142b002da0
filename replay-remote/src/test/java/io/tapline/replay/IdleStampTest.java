package io.tapline.replay;

import static io.tapline.replay.SmallReplica.UNDO;
import static io.tapline.replay.SmallReplica.hello;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.log.volume.ImageStamp;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replayer killed (or a machine that lost power) while its replica was idle, the image then
 * written by another program before the replayer came back: the next open finds it (the stamp
 * taken while idle), where before only a clean stop left a stamp and status said consistent.
 * The crash: the volume's files as they were at the moment of the kill, i.e. the stamp on disk
 * then (the clean close's own stamp replaced by it, or removed when there was none).
 */
class IdleStampTest {
    @TempDir
    Path data;

    @Test
    void anImageWrittenAfterAKillWhileIdleIsFoundAtTheNextOpen() throws Exception {
        byte[] atKill;
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            v.stampWhileIdle(); // the first look after the group: not idle yet
            assertFalse(Files.exists(stamp()), "stamped while writing");
            v.stampWhileIdle(); // idle for a whole look
            assertTrue(Files.exists(stamp()));
            atKill = Files.readAllBytes(stamp()); // kill -9 now
        }
        Files.write(stamp(), atKill);
        scribble();
        VolumeStatus fromFiles = ReplayServer.readVolumeStatus(data).get(0);
        assertTrue(fromFiles.outOfSync(), "status from the files: " + fromFiles);
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertFalse(v.consistent(), "the image holds what no record wrote");
            assertTrue(v.status(false).reason().contains("holds data written outside the log"), v.status(false).reason());
        }
    }

    @Test
    void theStampIsGoneBeforeTheReplayerWritesAgain() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            v.stampWhileIdle();
            v.stampWhileIdle();
            assertTrue(Files.exists(stamp()));
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(50, 60)));
            assertFalse(Files.exists(stamp()), "removed before the group's writes");
        } // kill -9 after the writes: no stamp, so no false alarm
        Files.delete(stamp()); // the clean close's
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertTrue(v.consistent(), v.status(false).toString());
        }
    }

    /**
     * Another program writes the image, until its change time moves past the stamp's (the kernel's
     * file times advance in coarse ticks: a write in the tick of the replayer's last one would not
     * show). Fails after 5 s.
     */
    private void scribble() throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        try (RandomAccessFile f = new RandomAccessFile(SmallReplica.image(data).toFile(), "rw")) {
            do {
                f.seek(8192);
                f.write(new byte[] {9, 9, 9});
                if (ImageStamp.changedSince(stamp(), SmallReplica.image(data)) != null) {
                    return;
                }
                LockSupport.parkNanos(1_000_000L);
            } while (System.nanoTime() < deadline);
        }
        throw new AssertionError("the image's change time never moved past its stamp");
    }

    private Path stamp() {
        return data.resolve("vol1").resolve(ReplicaVolume.STAMP_FILE);
    }
}
