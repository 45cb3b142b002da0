package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.buffer.ActivityLogConfig;
import io.tapline.journey.LoopbackWarmUp;
import io.tapline.log.buffer.BufferConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wedge's warm-up at start: writes captured and shipped back on scratch files, then deleted. */
class WedgeWarmUpTest {
    @TempDir
    Path volumeDir;

    @Test
    void everyWriteIsCapturedAndEveryRecordReadBackIntoFrames() throws Exception {
        WedgeWarmUp.Result r = WedgeWarmUp.run(volumeDir.resolve(WedgeWarmUp.DIR), BufferConfig.DEFAULT);
        assertEquals(1024 + 64 + 4, r.records(), "4 MiB in 4 KiB, 64 KiB and 1 MiB writes");
        assertEquals(12L << 20, r.bytes());
        assertEquals(r.records() + 3, r.shipped(), "every write and each pass's FLUSH read back and framed");
        assertTrue(r.frames() >= 3, "12 MiB in frames of at most 4 MiB: " + r.frames());
        assertEquals(r.frames() * LoopbackWarmUp.LARGE_ROUNDS + 64 * LoopbackWarmUp.SMALL_ROUNDS, r.carriedFrames(),
                "the frames, and 64 records one per frame, carried over loopback as often as its rounds say");
    }

    @Test
    void aSmallWriteOnceBufferWithAnActivityLogNeitherFillsNorKeepsAnything() throws Exception {
        // A --buffer-max below the warm-up's bytes: the scratch buffer gets room of its own, so no FULL.
        BufferConfig small = BufferConfig.ofMaxBytes(1 << 20, 1 << 20).withWriteOnce(true)
                .withActivityLog(ActivityLogConfig.DEFAULT);
        Path scratch = volumeDir.resolve(WedgeWarmUp.DIR);
        WedgeWarmUp.Result r = WedgeWarmUp.run(scratch, small);
        assertEquals(r.records() + 3, r.shipped(), "nothing lost to a full buffer");

        assertTrue(WedgeWarmUp.warmUpIn(scratch, small));
        assertEquals(List.of(), entries(volumeDir), "nothing left in the volume's buffer folder");
    }

    @Test
    void aScratchLeftByAKillIsDeletedEvenWhenNoWarmUpRuns() throws Exception {
        Path scratch = Files.createDirectories(volumeDir.resolve(WedgeWarmUp.DIR).resolve("buffer"));
        Files.writeString(scratch.resolve("00000000000000000001.seg"), "left by a kill");
        WedgeWarmUp.onceAtStart(volumeDir, BufferConfig.DEFAULT); // the first in this JVM runs, a later one skips
        WedgeWarmUp.onceAtStart(volumeDir, BufferConfig.DEFAULT);
        assertEquals(List.of(), entries(volumeDir));
    }

    @Test
    void aWarmUpThatCannotRunIsAWarningAndTheWedgeStartsCold() throws Exception {
        Path notADirectory = Files.writeString(volumeDir.resolve("file"), "x");
        assertFalse(WedgeWarmUp.warmUpIn(notADirectory.resolve(WedgeWarmUp.DIR), BufferConfig.DEFAULT));
        assertEquals("x", Files.readString(notADirectory));
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
