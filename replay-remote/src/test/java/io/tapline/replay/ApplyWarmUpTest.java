package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.JourneyProtocol;
import io.tapline.journey.LoopbackWarmUp;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The replayer's warm-up at start: it applies on a scratch volume of its own and leaves nothing behind. */
class ApplyWarmUpTest {
    @TempDir
    Path data;

    @Test
    void aWarmUpAppliesEveryGroupOnItsScratchVolumeAndDeletesIt() throws Exception {
        Path scratch = data.resolve(ApplyWarmUp.DIR);
        ApplyWarmUp.Result r = ApplyWarmUp.run(scratch, UndoConfig.DEFAULT, JourneyProtocol.DEFAULT_MAX_FRAME_BYTES);
        assertEquals(24, r.groups(), "three passes over 8 MiB in 1 MiB batches");
        assertEquals(24L << 20, r.bytes());
        assertEquals(8 * LoopbackWarmUp.LARGE_ROUNDS + 64 * LoopbackWarmUp.SMALL_ROUNDS, r.carriedFrames(),
                "a third of the batches, and 64 small ones, carried over loopback as often as its rounds say");
        // run() leaves the scratch for its caller: a real volume, applied and consistent to its last record.
        VolumeStatus applied = AppliedState.peek(scratch.resolve("scratch"), "scratch");
        // Per pass, batches of 4K, 64K, 1M, 4K, 64K, 1M, 4K, 64K records, each with its FLUSH.
        assertEquals(3 * (3 * 257 + 3 * 17 + 2 * 2), applied.lastAppliedSequence(), "every record applied: " + applied);
        assertFalse(applied.outOfSync());

        assertTrue(ApplyWarmUp.warmUpIn(scratch, UndoConfig.DEFAULT, JourneyProtocol.DEFAULT_MAX_FRAME_BYTES));
        assertEquals(List.of(), entries(data), "nothing left in the data directory");
    }

    @Test
    void aScratchLeftByAKillIsDeletedAtTheNextStartAndNeverListedAsAVolume() throws Exception {
        Path scratch = data.resolve(ApplyWarmUp.DIR);
        ApplyWarmUp.run(scratch, UndoConfig.DEFAULT, JourneyProtocol.DEFAULT_MAX_FRAME_BYTES); // as a kill leaves it
        assertEquals(List.of(), ReplayServer.volumeIds(data), "the scratch volume is one level down: no volume");
        assertEquals(List.of(), ReplayServer.readVolumeStatus(data));

        try (ReplayServer server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data))) {
            assertFalse(Files.exists(scratch), "the scratch is gone once the replayer listens");
            assertEquals(List.of(ReplayServer.LOCK_FILE), entries(data));
        }
    }

    @Test
    void aWarmUpThatCannotRunIsAWarningAndTheReplayerStartsCold() throws Exception {
        Path notADirectory = Files.writeString(data.resolve("file"), "x");
        assertFalse(ApplyWarmUp.warmUpIn(notADirectory.resolve(ApplyWarmUp.DIR), UndoConfig.DEFAULT,
                JourneyProtocol.DEFAULT_MAX_FRAME_BYTES));
        assertEquals("x", Files.readString(notADirectory));
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
