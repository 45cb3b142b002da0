package io.tapline.log.cycles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayeredVolumeTest {
    private static final long SIZE = (4L << 20) + 1000; // a partial last block

    @TempDir
    Path dir;

    /** Random writes, zeroes, freezes and merges against a byte array: every read agrees. */
    @Test
    void readsAlwaysShowTheLatestWritesAcrossFreezesAndMerges() throws IOException {
        Path base = dir.resolve("vol.img");
        byte[] model = new byte[(int) SIZE];
        Random rnd = new Random(42);
        LayeredVolume v = LayeredVolume.open(base, SIZE);
        byte[] frozenModel = null;
        FrozenImage frozen = null;
        for (int step = 0; step < 3000; step++) {
            int op = rnd.nextInt(100);
            if (op < 55) {
                int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 5000 : 70_000);
                long off = rnd.nextLong(SIZE - len + 1);
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                v.write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, model, (int) off, len);
            } else if (op < 62) {
                int len = 1 + rnd.nextInt(100_000);
                long off = rnd.nextLong(SIZE - len + 1);
                v.zero(off, len, rnd.nextBoolean());
                Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
            } else if (op < 90) {
                int len = 1 + rnd.nextInt(200_000);
                long off = rnd.nextLong(SIZE - len + 1);
                ByteBuffer got = ByteBuffer.allocate(len);
                v.read(off, got);
                assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + len), got.array(), "step " + step);
            } else if (op < 94) {
                v.force();
            } else if (op < 97 && frozen == null) {
                frozen = v.freeze();
                frozenModel = model.clone();
            } else if (frozen != null) {
                assertArrayEquals(frozenModel, readAll(frozen), "frozen image of cycle " + frozen.cycle());
                v.mergeFrozen((done, total) -> 0);
                assertNull(v.frozen());
                frozen = null;
            }
        }
        v.close();
        try (LayeredVolume reopened = LayeredVolume.open(base, SIZE)) {
            assertArrayEquals(model, readAll(reopened));
            if (frozen != null) {
                assertNotNull(reopened.frozen(), "a frozen layer not merged is frozen again after a restart");
                assertArrayEquals(frozenModel, readAll(reopened.frozen()));
            }
        }
    }

    @Test
    void aFrozenImageNeverChangesAndItsChangedChunksAreTheWrittenOnes() throws IOException {
        try (LayeredVolume v = LayeredVolume.open(dir.resolve("vol.img"), SIZE)) {
            v.write(0, ByteBuffer.wrap(fill(4096, 1)));
            v.write((1 << 20) + 10, ByteBuffer.wrap(fill(10, 2))); // inside chunk 16 of 64 KiB
            FrozenImage f = v.freeze();
            assertEquals(1, f.cycle());
            assertEquals(2, v.activeCycle());
            long[] chunks = f.changedChunks(64 << 10);
            assertEquals((1L << 0) | (1L << 16), chunks[0]);
            assertEquals(2, f.blocks());
            byte[] before = readAll(f);
            v.write(0, ByteBuffer.wrap(fill(8192, 9)));
            v.zero((1 << 20), 4096, true);
            assertArrayEquals(before, readAll(f), "writes after the freeze must not reach the frozen image");
            v.mergeFrozen((d, t) -> 0);
            assertEquals(9, readAll(v)[0]);
            assertEquals(0, readAll(v)[(1 << 20) + 10]);
            assertFalse(Files.exists(LayeredVolume.tablePath(dir.resolve("vol.img"), 1)));
            assertFalse(Files.exists(LayeredVolume.dataPath(dir.resolve("vol.img"), 1)));
            assertThrows(IllegalStateException.class, () -> {
                v.freeze();
                v.freeze();
            });
        }
    }

    /**
     * A power cut keeps what was forced and may keep any part of what was not: the layer's data
     * file as it is now (unflushed writes on disk) with its table as of the last force, and the
     * files exactly as of the last force. Either way every block reads as of the last force or
     * later, never a block of another offset or garbage.
     */
    @Test
    void aPowerCutAfterForceReadsTheForcedImage() throws IOException {
        Path base = dir.resolve("vol.img");
        Random rnd = new Random(7);
        byte[] forced;
        Path saved = Files.createDirectories(dir.resolve("at-force"));
        try (LayeredVolume v = LayeredVolume.open(base, SIZE)) {
            for (int i = 0; i < 200; i++) {
                byte[] data = new byte[1 + rnd.nextInt(20_000)];
                rnd.nextBytes(data);
                v.write(rnd.nextLong(SIZE - data.length), ByteBuffer.wrap(data));
            }
            v.force();
            forced = readAll(v);
            copyFiles(dir, saved);
            for (int i = 0; i < 200; i++) { // unflushed writes, some to blocks the layer did not hold
                byte[] data = new byte[1 + rnd.nextInt(20_000)];
                rnd.nextBytes(data);
                v.write(rnd.nextLong(SIZE - data.length), ByteBuffer.wrap(data));
            }
        }
        // State 1: everything as of the force.
        Path state1 = Files.createDirectories(dir.resolve("state1"));
        copyFiles(saved, state1);
        try (LayeredVolume v = LayeredVolume.open(state1.resolve("vol.img"), SIZE)) {
            assertArrayEquals(forced, readAll(v));
        }
        // State 2: the layer's data as now, its table as of the force: new blocks are not named, so they read from below.
        Path state2 = Files.createDirectories(dir.resolve("state2"));
        copyFiles(saved, state2);
        Files.copy(dir.resolve("vol.img.cycle-1.aux"), state2.resolve("vol.img.cycle-1.aux"),
                StandardCopyOption.REPLACE_EXISTING);
        try (LayeredVolume v = LayeredVolume.open(state2.resolve("vol.img"), SIZE)) {
            byte[] got = readAll(v);
            for (int b = 0; b < got.length; b += LayeredVolume.BLOCK_BYTES) {
                int end = Math.min(got.length, b + LayeredVolume.BLOCK_BYTES);
                if (!Arrays.equals(got, b, end, forced, b, end)) {
                    assertTrue(v.activeBlocks() > 0 && blockWasNamed(state2, b / LayeredVolume.BLOCK_BYTES),
                            "block " + b / LayeredVolume.BLOCK_BYTES + " changed although its table did not name it");
                }
            }
        }
    }

    /** Crash states of a freeze: the new layer's data without its table, a temporary table. */
    @Test
    void aFreezeCutShortLeavesTheOldLayerActive() throws IOException {
        Path base = dir.resolve("vol.img");
        byte[] image;
        try (LayeredVolume v = LayeredVolume.open(base, SIZE)) {
            v.write(5000, ByteBuffer.wrap(fill(9000, 3)));
            v.force();
            image = readAll(v);
        }
        Files.write(LayeredVolume.dataPath(base, 2), new byte[0]);
        Files.write(LayeredVolume.tablePath(base, 2).resolveSibling("vol.img.cycle-2.table.tmp"), new byte[100]);
        try (LayeredVolume v = LayeredVolume.open(base, SIZE)) {
            assertEquals(1, v.activeCycle());
            assertNull(v.frozen());
            assertArrayEquals(image, readAll(v));
        }
        assertFalse(Files.exists(LayeredVolume.dataPath(base, 2)));
    }

    /** The ranges a frozen cycle wrote, in whole blocks, adjacent ones together, cut to the range asked. */
    @Test
    void writtenRangesAreTheFrozenCyclesBlocks() throws IOException {
        try (LayeredVolume v = LayeredVolume.open(dir.resolve("vol.img"), SIZE)) {
            v.write(100, ByteBuffer.wrap(fill(10, 1)));
            v.write(8192, ByteBuffer.wrap(fill(4097, 2))); // blocks 2 and 3
            FrozenImage f = v.freeze();
            v.write(20_000, ByteBuffer.wrap(fill(10, 3))); // after the freeze: not in it
            List<long[]> all = f.writtenRanges(0, 65536);
            assertEquals(2, all.size());
            assertArrayEquals(new long[] {0, 4096}, all.get(0));
            assertArrayEquals(new long[] {8192, 8192}, all.get(1));
            List<long[]> part = f.writtenRanges(5000, 5000);
            assertEquals(1, part.size());
            assertArrayEquals(new long[] {8192, 1808}, part.get(0));
            List<long[]> tail = f.writtenRanges(SIZE - 10, 10);
            assertTrue(tail.isEmpty());
        }
    }

    /** The freeze instant survives a restart (a group's volumes name the same one). */
    @Test
    void aPendingFrozenImageKeepsItsInstantAcrossARestart() throws IOException {
        Path base = dir.resolve("vol.img");
        try (LayeredVolume v = LayeredVolume.open(base, SIZE)) {
            v.write(0, ByteBuffer.wrap(fill(100, 1)));
            assertEquals(1_700_000_000_123L, v.freeze(1_700_000_000_123L).frozenAtMillis());
        }
        try (LayeredVolume v = LayeredVolume.open(base, SIZE)) {
            assertEquals(1_700_000_000_123L, v.frozen().frozenAtMillis());
        }
    }

    /** A comparison may skip holes: a range no layer holds over a hole of the base. */
    @Test
    void holesAreWhereNoLayerWroteAndTheBaseHasNone() throws IOException {
        try (LayeredVolume v = LayeredVolume.open(dir.resolve("vol.img"), SIZE)) {
            assertTrue(v.isHole(0, 4096), "a new sparse volume");
            v.write(8192 + 100, ByteBuffer.wrap(fill(10, 1)));
            assertFalse(v.isHole(8192, 4096));
            assertFalse(v.isHole(0, 3 * 4096));
            assertTrue(v.isHole(0, 8192));
            FrozenImage f = v.freeze();
            v.write(0, ByteBuffer.wrap(fill(10, 2)));
            assertFalse(f.isHole(8192, 4096));
            assertTrue(f.isHole(0, 4096), "a write after the freeze is not in the frozen image");
            assertFalse(v.isHole(0, 4096));
        }
    }

    @Test
    void aDamagedTableIsAOneLineErrorNamingTheFile() throws IOException {
        Path base = dir.resolve("vol.img");
        LayeredVolume.open(base, SIZE).close();
        Path table = LayeredVolume.tablePath(base, 1);
        byte[] t = Files.readAllBytes(table);
        t[3] ^= 1;
        Files.write(table, t);
        IOException e = assertThrows(IOException.class, () -> LayeredVolume.open(base, SIZE));
        assertTrue(e.getMessage().contains(table.toString()) && !e.getMessage().contains("\n"), e.getMessage());
        IOException wrongSize = assertThrows(IOException.class, () -> {
            Files.write(table, Arrays.copyOf(t, t.length)); // still damaged: reported first
            LayeredVolume.open(base, SIZE * 2);
        });
        assertNotNull(wrongSize.getMessage());
    }

    private static boolean blockWasNamed(Path stateDir, long block) throws IOException {
        try (FreezeTable t = FreezeTable.open(stateDir.resolve("vol.img.cycle-1.table"), LayeredVolume.BLOCK_BYTES,
                SIZE)) {
            return t.contains(block);
        }
    }

    private static void copyFiles(Path from, Path to) throws IOException {
        for (Path p : List.of(from.resolve("vol.img"), from.resolve("vol.img.cycle-1.aux"),
                from.resolve("vol.img.cycle-1.table"))) {
            Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static byte[] fill(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] readAll(LayeredVolume v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) v.sizeBytes());
        v.read(0, b);
        return b.array();
    }

    private static byte[] readAll(FrozenImage f) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) f.sizeBytes());
        f.read(0, b);
        return b.array();
    }
}
