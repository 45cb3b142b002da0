package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.undo.UndoConfig;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replayer killed (or a machine that lost power) while its replica was idle, the image then
 * written by another program before the replayer came back: the next open finds it (the stamp
 * taken while idle), where before only a clean stop left a stamp and status said consistent.
 * The crash is a copy of the volume's files taken while the volume is open.
 */
class IdleStampTest {
    private static final long SIZE = 256 << 10;
    private static final UndoConfig UNDO = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;

    @Test
    void anImageWrittenAfterAKillWhileIdleIsFoundAtTheNextOpen() throws Exception {
        Path crashed = data.resolve("crashed");
        try (ReplicaVolume v = ReplicaVolume.open(data.resolve("live"), hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            v.stampWhileIdle(); // the first look after the group: not idle yet
            assertFalse(Files.exists(stamp(data.resolve("live"))), "stamped while writing");
            v.stampWhileIdle(); // idle for a whole look
            assertTrue(Files.exists(stamp(data.resolve("live"))));
            copy(data.resolve("live"), crashed); // kill -9 now
        }
        scribble(crashed);
        VolumeStatus fromFiles = ReplayServer.readVolumeStatus(crashed).get(0);
        assertTrue(fromFiles.outOfSync(), "status from the files: " + fromFiles);
        try (ReplicaVolume v = ReplicaVolume.open(crashed, hello(), UNDO)) {
            assertFalse(v.consistent(), "the image holds what no record wrote");
            assertTrue(v.status(false).reason().contains("holds data written outside the log"), v.status(false).reason());
        }
    }

    @Test
    void theStampIsGoneBeforeTheReplayerWritesAgain() throws Exception {
        Path crashed = data.resolve("crashed");
        try (ReplicaVolume v = ReplicaVolume.open(data.resolve("live"), hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            v.stampWhileIdle();
            v.stampWhileIdle();
            assertTrue(Files.exists(stamp(data.resolve("live"))));
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(50, 60)));
            assertFalse(Files.exists(stamp(data.resolve("live"))), "removed before the group's writes");
            copy(data.resolve("live"), crashed); // kill -9 after the writes: no stamp, so no false alarm
        }
        try (ReplicaVolume v = ReplicaVolume.open(crashed, hello(), UNDO)) {
            assertTrue(v.consistent(), v.status(false).toString());
        }
    }

    private static void scribble(Path dataDir) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(dataDir.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE)
                .toFile(), "rw")) {
            Thread.sleep(20); // a change time the stamp did not see
            f.seek(8192);
            f.write(new byte[] {9, 9, 9});
        }
    }

    private static Path stamp(Path dataDir) {
        return dataDir.resolve("vol1").resolve(ReplicaVolume.STAMP_FILE);
    }

    private static void copy(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.toList()) {
                Path t = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else if (!f.getFileName().toString().endsWith(".lock")) {
                    Files.copy(f, t, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096, "");
    }
}
