package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A volume that cannot be opened is retried by its source every few seconds: each failed open
 * must leave no file open behind it (probe V D2: {@code applied.state} leaked one descriptor per
 * attempt while an undo segment was damaged, ~26,000 a day, until the replayer ran out).
 */
class ReplicaVolumeOpenFailureTest {
    private static final UndoConfig UNDO = UndoConfig.DEFAULT;

    @TempDir
    Path data;

    @Test
    void aVolumeWhoseUndoLogCannotBeOpenedLeavesNoFileOpen() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
        }
        Path segment;
        try (Stream<Path> files = Files.list(data.resolve("vol1").resolve("undo"))) {
            segment = files.filter(p -> p.toString().endsWith(".undo")).sorted().findFirst().orElseThrow();
        }
        try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
            f.seek(4096);
            byte[] junk = new byte[4096];
            java.util.Arrays.fill(junk, (byte) 0x5a);
            f.write(junk); // damaged in the middle, records after it: not a torn tail
        }
        long before = openFilesOf(data);
        for (int i = 0; i < 20; i++) {
            assertThrows(IOException.class, () -> ReplicaVolume.open(data, hello(), UNDO));
        }
        assertEquals(before, openFilesOf(data), "files under " + data + " left open by 20 failed opens");
    }

    /** How many of this process's descriptors name a file under {@code dir}. */
    private static long openFilesOf(Path dir) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).startsWith(dir);
                } catch (IOException e) {
                    return false; // closed meanwhile (the listing's own descriptor)
                }
            }).count();
        }
    }

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", 256 << 10, 4096, "");
    }
}
