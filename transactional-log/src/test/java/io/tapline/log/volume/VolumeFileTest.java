package io.tapline.log.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Holes of a sparse volume, as lseek(SEEK_DATA) reports them; the write-behind page policy (nbdkit cache=none). */
class VolumeFileTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void libcCallsBind() {
        // What a replayer binds at start; false here would mean every image falls back (zeroes
        // written for discards, holes never seen, before-images read through the channel).
        assertTrue(VolumeFile.bindNativeCalls(), "libc calls bound on Linux");
    }

    @Test
    void writesAreCutIntoPiecesEndingAtMultiplesOfTheirSizeAndEveryByteLands() throws Exception {
        byte[] data = new byte[(int) MIB + 12345];
        new java.util.Random(3).nextBytes(data);
        long at = 3 * MIB - 1000; // not aligned: the first piece ends at the next multiple
        try (VolumeFile v = VolumeFile.openOrCreate(tmp.resolve("v.img"), 8 * MIB, 64 << 10)) {
            java.nio.ByteBuffer src = java.nio.ByteBuffer.allocate(data.length + 20);
            src.position(10).put(data).flip().position(10); // a heap buffer not starting at 0
            long calls = writeCalls();
            v.write(at, src);
            // 1 MiB + 12,345 bytes from 1,000 bytes before a 64 KiB boundary: 1 + 16 + 1 pieces at least.
            assertTrue(writeCalls() - calls >= 18, "cut into 64 KiB pieces: " + (writeCalls() - calls) + " writes");
            assertEquals(src.limit(), src.position(), "all of it consumed, its limit as it was");
            assertEquals(data.length + 10, src.limit());
            java.nio.ByteBuffer back = java.nio.ByteBuffer.allocate(data.length);
            v.read(at, back);
            assertArrayEquals(data, back.array());
            java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(data.length);
            direct.put(data).flip();
            v.write(5 * MIB, direct);
            java.nio.ByteBuffer again = java.nio.ByteBuffer.allocate(data.length);
            v.read(5 * MIB, again);
            assertArrayEquals(data, again.array());
        }
    }

    @Test
    void aScanReadsWithoutReadaheadAndEveryByteArrives() throws Exception {
        Path file = tmp.resolve("scan.img");
        byte[] data = new byte[(int) (32 * MIB)];
        new java.util.Random(5).nextBytes(data);
        try (VolumeFile v = VolumeFile.openOrCreate(file, 32 * MIB)) {
            v.write(0, data);
            v.force();
        }
        CacheStat.dropCached(file);
        assertEquals(0, CacheStat.of(file)[0], "nothing cached before the scan");
        try (VolumeFile v = VolumeFile.openOrCreate(file, 32 * MIB)) {
            // Two sequential reads of 1 MiB: with readahead the second starts reading past them.
            java.nio.ByteBuffer heap = java.nio.ByteBuffer.allocate((int) MIB);
            v.readForScan(0, heap);
            java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect((int) MIB);
            v.readForScan(MIB, direct);
            assertTrue(CacheStat.of(file)[0] <= 3 * MIB / 4096,
                    "the pages read and the next 1 MiB asked for are cached, no more: " + CacheStat.of(file)[0] + " pages");
            assertEquals(1, CachedFolios.largest(file, 32 * MIB), "every page read is a folio of its own");
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 0, (int) MIB), heap.array());
            byte[] d = new byte[(int) MIB];
            direct.flip().get(d);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, (int) MIB, (int) (2 * MIB)), d);
            // A heap buffer larger than the 1 MiB staging, at an offset that is not a block's.
            java.nio.ByteBuffer big = java.nio.ByteBuffer.allocate((int) (3 * MIB + 777));
            v.readForScan(5 * MIB + 3, big);
            assertEquals(big.capacity(), big.position());
            assertArrayEquals(java.util.Arrays.copyOfRange(data, (int) (5 * MIB + 3), (int) (8 * MIB + 780)), big.array());
        }
    }

    @Test
    void aPrefetchReadsTheRangesAskedForAndNoMore() throws Exception {
        Path file = tmp.resolve("prefetch.img");
        try (VolumeFile v = VolumeFile.openOrCreate(file, 64 * MIB)) {
            v.write(0, new byte[(int) (64 * MIB)]);
            v.write(0, new byte[] {1}); // data, not zeroes the file system might keep as a hole
            v.force();
        }
        CacheStat.dropCached(file);
        assertEquals(0, CacheStat.of(file)[0]);
        try (VolumeFile v = VolumeFile.openOrCreate(file, 64 * MIB)) {
            assertTrue(v.turnReadaheadOff());
            for (int i = 0; i < 100; i++) {
                v.prefetch(i * 613L * 1024 & ~4095L, 4096); // 100 scattered pages, none twice
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (CacheStat.of(file)[0] < 100 && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // the reads were started, not waited for
            }
            assertEquals(100, CacheStat.of(file)[0], "the 100 pages asked for, without readahead around them");
        }
    }

    @Test
    void largeWritesLeaveNoCachedFolioLargerThanAPiece() throws Exception {
        byte[] data = new byte[(int) (8 * MIB)];
        new java.util.Random(7).nextBytes(data);
        Path whole = tmp.resolve("whole.img");
        try (VolumeFile v = VolumeFile.openOrCreate(whole, 8 * MIB, 0)) {
            v.write(0, data); // one pwrite of 8 MiB, as before
        }
        int before = CachedFolios.largest(whole, 8 * MIB);
        assertTrue(before > 64, "this kernel (Linux 6.16 or later, ext4) caches large writes in large folios: " + before);
        Path cut = tmp.resolve("cut.img");
        try (VolumeFile v = VolumeFile.openOrCreate(cut, 8 * MIB)) {
            v.write(0, data);
        }
        assertTrue(CachedFolios.largest(cut, 8 * MIB) <= VolumeFile.DEFAULT_WRITE_PIECE_BYTES / 4096,
                "no folio larger than a piece: " + CachedFolios.largest(cut, 8 * MIB) + " pages (" + before
                        + " written whole)");
    }

    @Test
    void aWrongWritePieceSizeIsRefusedInOneLine() {
        for (String bad : new String[] {"4095", "12288x", "-4096", "100", String.valueOf(128 << 20)}) {
            System.setProperty(VolumeFile.WRITE_PIECE_PROPERTY, bad);
            try {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, VolumeFile::checkSettings);
                assertEquals(1, e.getMessage().lines().count(), e.getMessage());
                assertEquals("-D" + VolumeFile.WRITE_PIECE_PROPERTY + ": " + bad + " (expected: bytes per pwrite, 0 for"
                        + " one per write, 0..67108864 in multiples of 4096)", e.getMessage());
            } finally {
                System.clearProperty(VolumeFile.WRITE_PIECE_PROPERTY);
            }
        }
        assertEquals(VolumeFile.DEFAULT_WRITE_PIECE_BYTES, VolumeFile.writePieceBytes());
    }

    /** This process's write system calls so far ({@code syscw} in {@code /proc/self/io}). */
    private static long writeCalls() throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/io"))) {
            if (line.startsWith("syscw:")) {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new AssertionError("no syscw in /proc/self/io");
    }

    @Test
    void holesAreReportedAndDataNeverIs() throws Exception {
        try (VolumeFile v = VolumeFile.openOrCreate(tmp.resolve("v.img"), 64 * MIB)) {
            // A new volume is sparse but for its last block (written to set the size).
            assertTrue(v.isHole(0, 63 * MIB), "a new sparse volume is a hole");
            assertFalse(v.isHole(63 * MIB, MIB), "the block that sets the size is data");
            v.write(5 * MIB + 100, new byte[] {1, 2, 3});
            assertFalse(v.isHole(5 * MIB, MIB), "dirty, unsynced data counts as data");
            assertFalse(v.isHole(0, 6 * MIB), "a range ending in data");
            assertTrue(v.isHole(0, 4 * MIB));
            assertTrue(v.isHole(8 * MIB, 55 * MIB), "after the data");
            v.force();
            assertFalse(v.isHole(5 * MIB, MIB));
            v.zero(5 * MIB, MIB, true);
            v.force();
            assertTrue(v.isHole(5 * MIB, MIB), "a punched range is a hole again");
            assertFalse(v.isHole(0, 0), "an empty range is not worth skipping");
        }
    }

    /** The property as the run was started with, restored after each test that sets it. */
    private final String seekDataBefore = System.getProperty(VolumeFile.SEEK_DATA_PROPERTY);

    @AfterEach
    void restoreSeekData() {
        if (seekDataBefore == null) {
            System.clearProperty(VolumeFile.SEEK_DATA_PROPERTY);
        } else {
            System.setProperty(VolumeFile.SEEK_DATA_PROPERTY, seekDataBefore);
        }
    }

    @Test
    void holesNotBelievedAreReadAsData() throws Exception {
        // As on a file system whose SEEK_DATA may miss writes still in the page cache (ZFS): a
        // verify, a resync or a before-image must then read every range, never take data for zeros.
        System.setProperty(VolumeFile.SEEK_DATA_PROPERTY, "ignore");
        try (VolumeFile v = VolumeFile.openOrCreate(tmp.resolve("z.img"), 64 * MIB)) {
            assertFalse(v.holesSeeWrites());
            assertFalse(v.isHole(0, 63 * MIB), "a real hole, but the answer is not believed");
            assertEquals(0, v.nextDataOffset(0), "data may start anywhere");
            assertEquals(64 * MIB, v.nextHoleOffset(0), "no hole before the end");
            ByteBuffer hole = ByteBuffer.allocate((int) MIB);
            v.read(MIB, hole);
            assertArrayEquals(new byte[(int) MIB], hole.array(), "and the range reads as zeros, as a hole does");
        }
        System.setProperty(VolumeFile.SEEK_DATA_PROPERTY, "auto");
        try (VolumeFile v = VolumeFile.openExisting(tmp.resolve("z.img"))) {
            assertTrue(v.holesSeeWrites(), "auto on this file system (ext4, XFS, btrfs or tmpfs)");
            assertTrue(v.isHole(0, 63 * MIB));
            assertEquals(64 * MIB - 4096, v.nextDataOffset(0), "the page that sets the size");
        }
    }

    @Test
    void holesTrustedWhenTheOperatorSaysSo() throws Exception {
        System.setProperty(VolumeFile.SEEK_DATA_PROPERTY, "trust");
        try (VolumeFile v = VolumeFile.openOrCreate(tmp.resolve("t.img"), 8 * MIB)) {
            assertTrue(v.holesSeeWrites());
            assertTrue(v.isHole(0, 7 * MIB));
        }
    }

    @Test
    void aWrongSeekDataValueOpensNothing() {
        System.setProperty(VolumeFile.SEEK_DATA_PROPERTY, "yes");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VolumeFile.openOrCreate(tmp.resolve("w.img"), 8 * MIB));
        assertEquals("-Dtapline.volume.seekData=yes: expected auto, trust or ignore", e.getMessage());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("w.img")), "no image made");
    }

    @Test
    void readsWithoutReadaheadGiveTheBytesReadsGive() throws Exception {
        byte[] data = new byte[(int) (3 * MIB + 777)];
        new java.util.Random(11).nextBytes(data);
        try (VolumeFile v = VolumeFile.openOrCreate(tmp.resolve("r.img"), 16 * MIB)) {
            assertTrue(v.turnReadaheadOff(), "the native descriptor with readahead off, on Linux");
            v.write(2 * MIB + 5, data); // unaligned, and holes on both sides
            long[][] ranges = {{0, MIB}, {2 * MIB, 2 * MIB}, {2 * MIB + 5, data.length}, {3 * MIB + 1, 9 * MIB},
                {16 * MIB - 4096, 4096}, {7, 1}};
            for (long[] r : ranges) {
                java.nio.ByteBuffer expected = java.nio.ByteBuffer.allocateDirect((int) r[1]);
                v.read(r[0], expected);
                // A window taken at a position inside a larger direct buffer, as BeforeImages does.
                java.nio.ByteBuffer window = java.nio.ByteBuffer.allocateDirect((int) r[1] + 100);
                window.position(37).limit(37 + (int) r[1]);
                v.readWithoutReadahead(r[0], window);
                assertEquals(37 + r[1], window.position(), "filled to its limit");
                window.position(37);
                expected.flip();
                assertEquals(expected, window, "bytes at " + r[0] + " length " + r[1]);
            }
            byte[] heap = new byte[(int) MIB];
            v.readWithoutReadahead(2 * MIB + 5, java.nio.ByteBuffer.wrap(heap)); // through the channel
            assertArrayEquals(java.util.Arrays.copyOf(data, (int) MIB), heap);
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> v.readWithoutReadahead(16 * MIB - 10, java.nio.ByteBuffer.allocateDirect(11)));
        }
    }

    @Test
    void droppingWrittenPagesKeepsTheBytesAndLeavesTheCacheSmall() throws Exception {
        Path cached = tmp.resolve("cached.img");
        Path dropped = tmp.resolve("dropped.img");
        byte[] written;
        try (VolumeFile a = VolumeFile.openOrCreate(cached, 64 * MIB);
                VolumeFile b = VolumeFile.openOrCreate(dropped, 64 * MIB)) {
            assertTrue(b.usePageCachePolicy(PageCachePolicy.DROPPED), "sync_file_range/posix_fadvise through JNA on Linux");
            written = writeRandomMiBs(64, 3, a, b);
            long residentCached = ResidentPages.bytesOf(cached);
            long residentDropped = ResidentPages.bytesOf(dropped);
            assertTrue(residentCached >= 60 * MIB, "writes without the policy stay cached: " + residentCached);
            // Eight writes in flight at most (the last eight 1 MiB writes), and the size-setting last block.
            assertTrue(residentDropped <= 10 * MIB, "writes with the policy leave the cache: " + residentDropped);
        }
        assertArrayEquals(written, sha256(dropped), "the bytes written with the policy read back");
    }

    @Test
    void pacedWritebackKeepsPagesCachedAndFewDirty() throws Exception {
        Path plain = tmp.resolve("plain.img");
        Path paced = tmp.resolve("paced.img");
        byte[] written;
        try (VolumeFile a = VolumeFile.openOrCreate(plain, 64 * MIB);
                VolumeFile b = VolumeFile.openOrCreate(paced, 64 * MIB)) {
            assertTrue(b.usePageCachePolicy(PageCachePolicy.PACED), "sync_file_range through JNA on Linux");
            written = writeRandomMiBs(64, 5, a, b);
            long pageBytes = 4096;
            long plainDirty = CacheStat.of(plain)[1] * pageBytes;
            long[] pacedPages = CacheStat.of(paced);
            long pacedDirty = (pacedPages[1] + pacedPages[2]) * pageBytes;
            assertTrue(plainDirty >= 32 * MIB, "without the policy the kernel leaves the writes dirty: " + plainDirty);
            // 1 MiB writes are paced one by one: 8 MiB dirty or in writeback at most, and the size-setting last block.
            assertTrue(pacedDirty <= 9 * MIB, "with it at most 8 MiB of writes stay dirty or in flight: " + pacedDirty);
            long residentPaced = ResidentPages.bytesOf(paced);
            assertTrue(residentPaced >= 60 * MIB, "and the written pages stay cached: " + residentPaced);
        }
        assertArrayEquals(written, sha256(paced), "the bytes written with the policy read back");
    }

    @Test
    void pacedSmallWritesHaveTheirWritebackStartedEveryKick() throws Exception {
        Path paced = tmp.resolve("small.img");
        java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
        try (VolumeFile v = VolumeFile.openOrCreate(paced, 48 * MIB)) {
            assertTrue(v.usePageCachePolicy(PageCachePolicy.PACED), "sync_file_range through JNA on Linux");
            byte[] block = new byte[4096];
            java.util.Random random = new java.util.Random(7);
            for (long at = 0; at < 48 * MIB; at += block.length) {
                random.nextBytes(block);
                digest.update(block);
                v.write(at, block);
            }
            // The pacer kicks from its own thread: give its last kick (at 48 MiB) a bounded moment.
            io.tapline.log.buffer.TestBuffers.eventually(
                    () -> CacheStat.of(paced)[1] * 4096 <= WritebackPacer.KICK_BYTES + MIB, 10_000);
            long dirty = CacheStat.of(paced)[1] * 4096;
            assertTrue(dirty <= WritebackPacer.KICK_BYTES + MIB,
                    "4 KiB writes leave at most one kick's worth dirty: " + dirty);
            long residentPaced = ResidentPages.bytesOf(paced);
            assertTrue(residentPaced >= 44 * MIB, "and their pages stay cached: " + residentPaced);
        }
        assertArrayEquals(digest.digest(), sha256(paced), "the bytes written with the policy read back");
    }

    /** Writes {@code mib} random 1 MiB chunks (from {@code seed}) at the start of every volume; their SHA-256. */
    private static byte[] writeRandomMiBs(int mib, long seed, VolumeFile... volumes) throws Exception {
        byte[] chunk = new byte[(int) MIB];
        java.util.Random random = new java.util.Random(seed);
        java.security.MessageDigest written = java.security.MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < mib; i++) {
            random.nextBytes(chunk);
            written.update(chunk);
            for (VolumeFile v : volumes) {
                v.write(i * MIB, chunk);
            }
        }
        return written.digest();
    }

    private static byte[] sha256(Path file) throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(java.nio.file.Files.readAllBytes(file));
    }

    /** {@code cachestat(2)} of a whole file: cached and dirty pages (what fincore does not tell). */
    interface CacheStat extends com.sun.jna.Library {
        CacheStat LIBC = com.sun.jna.Native.load("c", CacheStat.class);
        long SYS_CACHESTAT = 451;

        int open(String path, int flags);

        int close(int fd);

        long syscall(long number, int fd, com.sun.jna.Pointer range, com.sun.jna.Pointer stat, int flags);

        int posix_fadvise(int fd, long offset, long len, int advice);

        /** Drops the file's clean cached pages ({@code POSIX_FADV_DONTNEED}). */
        static void dropCached(Path file) {
            int fd = LIBC.open(file.toString(), 0);
            assertTrue(fd >= 0, "open " + file);
            try {
                assertEquals(0, LIBC.posix_fadvise(fd, 0, 0, 4));
            } finally {
                LIBC.close(fd);
            }
        }

        /** {nr_cache, nr_dirty, nr_writeback}; fails the test without the call (Linux 6.5 or later). */
        static long[] of(Path file) {
            int fd = LIBC.open(file.toString(), 0);
            assertTrue(fd >= 0, "open " + file);
            try (com.sun.jna.Memory range = new com.sun.jna.Memory(16); com.sun.jna.Memory stat = new com.sun.jna.Memory(40)) {
                range.clear();
                stat.clear();
                assertEquals(0, LIBC.syscall(SYS_CACHESTAT, fd, range, stat, 0), "cachestat(2): Linux 6.5 or later");
                return new long[] {stat.getLong(0), stat.getLong(8), stat.getLong(16)};
            } finally {
                LIBC.close(fd);
            }
        }
    }
}
