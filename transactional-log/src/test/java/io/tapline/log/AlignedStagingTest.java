package io.tapline.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One {@link AlignedStaging} shared by the direct appenders of several files: appends interleaved
 * between the files, of sizes that make the memory grow between them, leave each file holding
 * exactly its own records; the memory grows to the largest append (a power of two) and is kept.
 */
class AlignedStagingTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void capacityIsAPowerOfTwoOfAtLeastOneMebibyte() {
        assertEquals(MIB, AlignedStaging.capacityFor(1));
        assertEquals(MIB, AlignedStaging.capacityFor(MIB));
        assertEquals(2 * MIB, AlignedStaging.capacityFor(MIB + 1));
        assertEquals(4 * MIB, AlignedStaging.capacityFor(3 * MIB));
        assertEquals(4 * MIB, AlignedStaging.capacityFor(4 * MIB));
        assertEquals(1 << 30, AlignedStaging.capacityFor((1 << 29) + 1));
    }

    @Test
    void appendersOfTwoFilesSharingTheMemoryEachWriteTheirOwnBytes() throws Exception {
        Path a = Files.createFile(dir.resolve("a"));
        Path b = Files.createFile(dir.resolve("b"));
        AlignedStaging staging = new AlignedStaging();
        DirectAppender directA = DirectAppender.open(a, staging);
        DirectAppender directB = DirectAppender.open(b, staging);
        assumeTrue(directA != null && directB != null, "O_DIRECT refused in " + dir);
        ByteArrayOutputStream expectA = new ByteArrayOutputStream();
        ByteArrayOutputStream expectB = new ByteArrayOutputStream();
        Random random = new Random(3);
        int[] sizes = {5000, 100, 3 * MIB + 17, 4096, 777, MIB + 1, 12_345, 1};
        try (FileChannel bufferedA = FileChannel.open(a, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileChannel bufferedB = FileChannel.open(b, StandardOpenOption.READ, StandardOpenOption.WRITE);
                directA;
                directB) {
            for (int i = 0; i < sizes.length; i++) {
                boolean toA = i % 3 != 1;
                byte[] record = new byte[sizes[i]];
                random.nextBytes(record);
                ByteArrayOutputStream expect = toA ? expectA : expectB;
                // The two halves as a record's header and payload would come: one gathered write.
                int half = record.length / 2;
                (toA ? directA : directB).append(toA ? bufferedA : bufferedB, expect.size(),
                        new ByteBuffer[] {ByteBuffer.wrap(record, 0, half), ByteBuffer.wrap(record, half, record.length - half)});
                expect.write(record);
            }
        }
        assertEquals(4 * MIB, staging.capacityBytes(), "grown to the largest append, rounded up, and kept");
        assertArrayEquals(expectA.toByteArray(), head(a, expectA.size()), "file a");
        assertArrayEquals(expectB.toByteArray(), head(b, expectB.size()), "file b");
    }

    /** The file's first {@code n} bytes; what follows is the last block's zero padding. */
    private static byte[] head(Path file, int n) throws Exception {
        byte[] all = Files.readAllBytes(file);
        for (int i = n; i < all.length; i++) {
            assertEquals(0, all[i], "padding byte " + i + " of " + file);
        }
        return Arrays.copyOf(all, n);
    }
}
