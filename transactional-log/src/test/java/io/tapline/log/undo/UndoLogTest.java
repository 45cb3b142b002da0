package io.tapline.log.undo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import io.tapline.log.RetiredFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UndoLogTest {
    private static final UndoConfig CFG = new UndoConfig(4096, 1L << 30, Duration.ofDays(1));
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-21T10:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    private static UndoRecord rec(long seq) {
        byte[] old = new byte[100];
        java.util.Arrays.fill(old, (byte) seq);
        return UndoRecord.of(seq, seq * 1000, RecordKind.WRITE, seq * 100, old);
    }

    private void fill(int n) throws IOException {
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            for (long s = 1; s <= n; s++) {
                undo.append(rec(s));
            }
            undo.sync();
        }
    }

    private static List<UndoRecord> newestFirst(UndoLog undo, long above) throws IOException {
        List<UndoRecord> out = new ArrayList<>();
        undo.replayAbove(above, new UndoLog.Applier() {
            @Override
            public void apply(UndoRecord r) {
                out.add(r);
            }

            @Override
            public void force() {
                // Nothing to make durable in memory.
            }
        });
        return out;
    }

    private Path newestSegment() throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".undo")).sorted().reduce((a, b) -> b).orElseThrow();
        }
    }

    /** Counts the replica syncs a rollback asks for; fails the apply after {@code failAfter} records. */
    private static final class CountingApplier implements UndoLog.Applier {
        final List<UndoRecord> applied = new ArrayList<>();
        final int failAfter;
        int forces;

        CountingApplier(int failAfter) {
            this.failAfter = failAfter;
        }

        @Override
        public void apply(UndoRecord r) throws IOException {
            if (applied.size() == failAfter) {
                throw new IOException("EIO (test)");
            }
            applied.add(r);
        }

        @Override
        public void force() {
            forces++;
        }
    }

    @Test
    void rollbackSyncsTheReplicaOncePerDurablePointNotPerSegment() throws IOException {
        fill(300); // about ten 4 KiB segments
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertTrue(undo.window().segments() >= 8, "segments: " + undo.window().segments());
            CountingApplier a = new CountingApplier(Integer.MAX_VALUE);
            assertEquals(300, undo.rollBackAbove(0, a, (d, t) -> { }));
            assertEquals(1, a.forces, "30,000 bytes restored, under one durable point");
        }
    }

    @Test
    void aRollbackThatFailsKeepsEveryRecordAboveItsLastDurablePointAndRerunsFromThere() throws IOException {
        fill(300);
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            CountingApplier failing = new CountingApplier(155); // records 300..146 applied, 145 fails
            assertThrows(IOException.class, () -> undo.rollBackAbove(100, failing, (d, t) -> { }, 1000));
            assertEquals(15, failing.forces, "a durable point every ten 100-byte records");
        }
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertEquals(150, undo.newestSequence(), "records above the last durable point (after 151) dropped,"
                    + " the rest kept");
            CountingApplier rerun = new CountingApplier(Integer.MAX_VALUE);
            assertEquals(50, undo.rollBackAbove(100, rerun, (d, t) -> { }, 1000));
            assertEquals(rec(150), rerun.applied.get(0));
            assertEquals(rec(101), rerun.applied.get(49));
            assertEquals(100, undo.newestSequence());
        }
    }

    private long filesEndingWith(String suffix) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(suffix)).count();
        }
    }

    @Test
    void aRollbackRetiresTheSegmentsItEmptiesAndTheirFilesGoWhenDeleted() throws Exception {
        fill(300);
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            int segments = undo.window().segments();
            assertEquals(250, undo.rollBackAbove(50, new CountingApplier(Integer.MAX_VALUE), (d, t) -> { }));
            assertEquals(50, undo.newestSequence());
            int emptied = segments - undo.window().segments();
            assertTrue(emptied >= 6, "segments emptied: " + emptied);
            assertEquals(emptied, filesEndingWith(RetiredFiles.SUFFIX), "emptied segments wait, retired, for deleteRetired");
            assertEquals(undo.window().segments(), filesEndingWith(".undo"), "the log's own files: the segments it keeps");
            undo.deleteRetired().get(30, TimeUnit.SECONDS);
            assertEquals(0, filesEndingWith(RetiredFiles.SUFFIX));
            assertEquals(rec(50), newestFirst(undo, 49).get(0), "the kept records are untouched");
        }
    }

    @Test
    void retiredSegmentsLeftByACrashAreDeletedAtOpenAndNeverRead() throws IOException {
        fill(300);
        // The states a cut during a rollback can leave: the newest segments retired (renamed, the
        // rename durable) and not yet deleted, the older ones as they were.
        List<Path> segments;
        try (var s = Files.list(dir)) {
            segments = s.filter(p -> p.toString().endsWith(".undo")).sorted().toList();
        }
        for (int retiredCount = 1; retiredCount <= 2; retiredCount++) {
            Path newest = segments.get(segments.size() - retiredCount);
            RetiredFiles.retire(newest);
            long expectedNewest;
            try (UndoLog read = UndoLog.openReadOnly(dir)) {
                expectedNewest = read.newestSequence();
                assertEquals(1, filesEndingWith(RetiredFiles.SUFFIX), "a reader changes nothing");
            }
            assertTrue(expectedNewest < 300 && expectedNewest > 200, "newest kept: " + expectedNewest);
            try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
                assertEquals(0, filesEndingWith(RetiredFiles.SUFFIX), "deleted at open");
                assertEquals(expectedNewest, undo.newestSequence(), "a retired segment is not the log's");
                List<UndoRecord> all = newestFirst(undo, 0);
                assertEquals(expectedNewest, all.size());
                assertEquals(rec(expectedNewest), all.get(0));
                assertEquals(rec(1), all.get(all.size() - 1));
            }
        }
    }

    @Test
    void recordsComeBackNewestFirstAcrossSegments() throws IOException {
        fill(100);
        try (UndoLog undo = UndoLog.openReadOnly(dir)) {
            assertTrue(undo.window().segments() > 1);
            List<UndoRecord> got = newestFirst(undo, 40);
            assertEquals(60, got.size());
            assertEquals(rec(100), got.get(0));
            assertEquals(rec(41), got.get(59));
            assertEquals(0, undo.window().oldestReachableSequence());
            assertEquals(100, undo.window().newestSequence());
            assertEquals(55, undo.sequenceAtOrBefore(55_500));
        }
    }

    @Test
    void aTimeBeforeASequenceJumpNamesTheLastHeldRecordNotOneTheReplicaNeverHeld() throws IOException {
        // After a rollback to 36 and a resync the replica's history is ...35, 36 | 44...: 37..43 never held.
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            for (long s = 30; s <= 36; s++) {
                undo.append(rec(s));
            }
            for (long s = 44; s <= 50; s++) {
                undo.append(rec(s));
            }
            undo.sync();
            assertEquals(36, undo.sequenceAtOrBefore(40_000), "captured by then: 36, not 43");
            assertEquals(44, undo.sequenceAtOrBefore(44_000));
            assertEquals(-1, undo.sequenceAtOrBefore(29_000), "older than the oldest held record");
        }
    }

    @Test
    void rollbackAfterAppendsOverARolledBackStretchReadsTheNewRecords() throws IOException {
        // One big segment: the rollback reads it through a window, then appends reuse the file
        // bytes the rollback cut; a second rollback must return the new records, not the cached old ones.
        UndoConfig oneSegment = new UndoConfig(1 << 30, 1L << 30, Duration.ofDays(1));
        List<UndoRecord> applied = new ArrayList<>();
        UndoLog.Applier collect = new UndoLog.Applier() {
            @Override
            public void apply(UndoRecord r) {
                applied.add(r);
            }

            @Override
            public void force() {
                // Nothing to make durable in memory.
            }
        };
        try (UndoLog undo = UndoLog.open(dir, oneSegment, CLOCK)) {
            for (long s = 1; s <= 50; s++) {
                undo.append(rec(s));
            }
            undo.sync();
            assertEquals(20, undo.rollBackAbove(30, collect, (d, t) -> { }));
            assertEquals(List.of(rec(50), rec(49)), applied.subList(0, 2));
            for (long s = 31; s <= 50; s++) {
                byte[] old = new byte[100];
                java.util.Arrays.fill(old, (byte) (s + 100));
                undo.append(UndoRecord.of(s, s * 1000, RecordKind.WRITE, s * 100, old));
            }
            undo.sync();
            applied.clear();
            assertEquals(25, undo.rollBackAbove(25, collect, (d, t) -> { }));
            assertEquals((byte) 150, applied.get(0).data()[0], "record 50 as appended after the first rollback");
            assertEquals(rec(26), applied.get(24));
        }
        try (UndoLog undo = UndoLog.open(dir, oneSegment, CLOCK)) {
            assertEquals(0, undo.recoveredDroppedBytes(), "close cut the direct appends' padding");
            assertEquals(25, undo.newestSequence());
        }
    }

    @Test
    void recoveryTrimsTornTailAtEveryCut() throws IOException {
        fill(20);
        Path seg = newestSegment();
        long size = Files.size(seg);
        byte[] whole = Files.readAllBytes(seg);
        int lastRecord = 4 + 40 + 100;
        for (long cut = size - lastRecord + 1; cut < size; cut += 7) {
            Files.write(seg, java.util.Arrays.copyOf(whole, (int) cut));
            try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
                assertEquals(cut - (size - lastRecord), undo.recoveredDroppedBytes(), "cut at " + cut);
                assertEquals(19, undo.newestSequence());
            }
            assertEquals(size - lastRecord, Files.size(seg));
        }
    }

    @Test
    void flippedByteInLastRecordIsATornTail() throws IOException {
        fill(30);
        Path seg = newestSegment();
        flip(seg, Files.size(seg) - 3);
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertEquals(144, undo.recoveredDroppedBytes());
            assertEquals(29, undo.newestSequence());
        }
    }

    @Test
    void midFileCorruptionIsRefusedAndNothingIsDropped() throws IOException {
        fill(20);
        Path seg = newestSegment();
        long size = Files.size(seg);
        flip(seg, UndoSegment.HEADER_BYTES + 50);
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.open(dir, CFG, CLOCK));
        assertTrue(e.getMessage().contains("mid-file corruption at offset 32"), e.getMessage());
        assertEquals(size, Files.size(seg));
    }

    @Test
    void recoveryTrimsZeroBlocksAfterTheLastRecord() throws IOException {
        // ext4 after a power cut: the size was extended, the tail blocks never written.
        fill(20);
        Path seg = newestSegment();
        byte[] whole = Files.readAllBytes(seg);
        for (int zeroes : new int[] {512, 4096, 3 * 4096}) {
            byte[] torn = java.util.Arrays.copyOf(whole, whole.length + zeroes);
            Files.write(seg, torn);
            try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
                assertEquals(zeroes, undo.recoveredDroppedBytes(), zeroes + " zero bytes");
                assertEquals(20, undo.newestSequence());
                assertEquals(rec(20), newestFirst(undo, 19).get(0));
            }
            assertEquals(whole.length, Files.size(seg));
        }
    }

    @Test
    void recoveryTrimsRecordsZeroedFromEveryOffsetOfTheLastTwo() throws IOException {
        fill(20);
        Path seg = newestSegment();
        byte[] whole = Files.readAllBytes(seg);
        int record = 4 + 40 + 100;
        int secondLast = whole.length - 2 * record;
        for (int cut = secondLast; cut < whole.length; cut++) {
            byte[] torn = java.util.Arrays.copyOf(whole, whole.length + 4096);
            java.util.Arrays.fill(torn, cut, torn.length, (byte) 0);
            Files.write(seg, torn);
            int kept = cut < whole.length - record ? secondLast : whole.length - record;
            try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
                assertEquals(torn.length - kept, undo.recoveredDroppedBytes(), "zeroed from " + cut);
                assertEquals(kept == secondLast ? 18 : 19, undo.newestSequence(), "zeroed from " + cut);
            }
            assertEquals(kept, Files.size(seg), "zeroed from " + cut);
        }
    }

    @Test
    void zeroedRecordWithValidRecordsAfterIsRefused() throws IOException {
        fill(20);
        Path seg = newestSegment();
        byte[] whole = Files.readAllBytes(seg);
        int record = 4 + 40 + 100;
        byte[] damaged = whole.clone();
        java.util.Arrays.fill(damaged, whole.length - 5 * record, whole.length - 4 * record, (byte) 0);
        Files.write(seg, damaged);
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.open(dir, CFG, CLOCK));
        assertTrue(e.getMessage().contains("mid-file corruption at offset " + (whole.length - 5 * record)),
                e.getMessage());
        assertEquals(whole.length, Files.size(seg), "nothing was dropped");
    }

    @Test
    void lengthFieldPointingPastTheEndWithValidRecordsAfterIsRefused() throws IOException {
        // A flipped length bit makes a mid-file record "run past the end": that is not a torn tail.
        fill(20);
        Path seg = newestSegment();
        long size = Files.size(seg);
        int record = 4 + 40 + 100;
        int at = (int) size - 5 * record;
        byte[] damaged = Files.readAllBytes(seg);
        damaged[at + 1] ^= 0x01; // recordLength + 65536: in range, but past the end of the file
        Files.write(seg, damaged);
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.open(dir, CFG, CLOCK));
        assertTrue(e.getMessage().contains("mid-file corruption at offset " + at), e.getMessage());
        assertEquals(size, Files.size(seg), "nothing was dropped");
    }

    @Test
    void unknownVersionIsRefusedNamingTheRange() throws IOException {
        fill(3);
        Path seg = newestSegment();
        try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(24);
            ByteBuffer whole = ByteBuffer.wrap(Files.readAllBytes(seg), 0, 24);
            h.put(whole).putShort(4, (short) 9).flip();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(h.duplicate());
            crc.update(Files.readAllBytes(seg), 28, 4); // from version 2 the header's CRC covers the salt
            ch.write(h, 0);
            ch.write(ByteBuffer.allocate(4).putInt(0, (int) crc.getValue()), 24);
        }
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.open(dir, CFG, CLOCK));
        assertTrue(e.getMessage().contains("version: 9 (expected: 1..2)"), e.getMessage());
    }

    @Test
    void retentionBySizeAndAgeKeepsTheActiveSegment() throws IOException {
        fill(200);
        try (UndoLog undo = UndoLog.open(dir, new UndoConfig(4096, 12288, Duration.ofDays(1)), CLOCK)) {
            assertTrue(undo.enforceRetention() > 0);
            assertTrue(undo.window().bytes() <= 12288, "bytes " + undo.window().bytes());
            assertTrue(undo.window().oldestReachableSequence() > 100);
        }
        Clock later = Clock.offset(CLOCK, Duration.ofDays(30));
        try (UndoLog undo = UndoLog.open(dir, CFG, later)) {
            undo.enforceRetention();
            assertEquals(1, undo.window().segments());
            assertEquals(200, undo.window().newestSequence());
        }
    }

    @Test
    void ageBoundCountsFromTheApplyOnThisClockNotTheSourcesCaptureTime() throws IOException {
        UndoConfig tenMinutes = new UndoConfig(4096, 1L << 30, Duration.ofMinutes(10));
        long sourceBehindNanos = CLOCK.millis() * 1_000_000L - Duration.ofMinutes(15).toNanos();
        long sourceAheadNanos = CLOCK.millis() * 1_000_000L + Duration.ofDays(365).toNanos();
        try (UndoLog undo = UndoLog.open(dir, tenMinutes, CLOCK)) {
            for (long s = 1; s <= 100; s++) {
                long captured = s <= 50 ? sourceBehindNanos : sourceAheadNanos;
                undo.append(UndoRecord.of(s, captured, RecordKind.WRITE, s * 100, rec(s).data()));
            }
            undo.sync();
            int segments = undo.window().segments();
            assertTrue(segments > 3, "segments " + segments);
            // Captured 15 min ago by the source's clock, applied just now by this one: all kept.
            assertEquals(0, undo.enforceRetention());
            assertEquals(0, undo.window().oldestReachableSequence());
        }
        try (UndoLog undo = UndoLog.open(dir, tenMinutes, Clock.offset(CLOCK, Duration.ofMinutes(9)))) {
            assertEquals(0, undo.enforceRetention(), "applied 9 min ago on this clock");
        }
        try (UndoLog undo = UndoLog.open(dir, tenMinutes, Clock.offset(CLOCK, Duration.ofMinutes(11)))) {
            // Applied 11 min ago: every sealed segment goes, those stamped a year ahead too.
            assertTrue(undo.enforceRetention() > 0);
            assertEquals(1, undo.window().segments());
            assertEquals(100, undo.window().newestSequence());
        }
    }

    private static Object inode(Path file) throws IOException {
        return Files.getAttribute(file, "unix:ino");
    }

    private static List<Path> files(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** Retention bounded to three 4 KiB segments: 100 records fill more than that. */
    private static final UndoConfig SMALL = new UndoConfig(4096, 12288, Duration.ofDays(1));

    /** A log of {@link #SMALL} segments holding records 1..100, reuse allowed as {@code allowed} says. */
    private UndoLog hundredRecords(java.util.function.BooleanSupplier allowed) throws IOException {
        UndoLog undo = UndoLog.open(dir, SMALL, CLOCK).recycleSegmentsWhen(allowed);
        for (long s = 1; s <= 100; s++) {
            undo.append(rec(s));
        }
        return undo;
    }

    /** Appends records after the newest until a new segment begins. */
    private static void appendUntilANewSegment(UndoLog undo) throws IOException {
        int segments = undo.window().segments();
        long seq = undo.newestSequence();
        while (undo.window().segments() == segments) {
            undo.append(rec(++seq));
        }
    }

    @Test
    void aSegmentRetentionDropsIsReusedAndItsOlderRecordsNeverComeBack() throws IOException {
        try (UndoLog undo = hundredRecords(() -> true)) {
            undo.sync();
            Path oldest = files(dir).get(0);
            Object oldestInode = inode(oldest);
            long oldestSize = Files.size(oldest);
            assertTrue(undo.enforceRetention() > 0);
            Path spare = dir.resolve(oldest.getFileName() + RetiredFiles.SUFFIX);
            assertTrue(Files.exists(spare), "the first segment dropped is kept aside: " + files(dir));
            appendUntilANewSegment(undo);
            assertTrue(!Files.exists(spare), "the spare was taken: " + files(dir));
            Path reused = dir.resolve(UndoSegment.fileName(undo.window().newestSequence()));
            assertEquals(oldestInode, inode(reused), "the new segment is the spare's file: " + files(dir));
            assertTrue(Files.size(reused) >= oldestSize, "its older records are still past the new one");
            undo.sync();
        }
        // Reopened as after a crash with the older bytes still there (close cut them: put some back).
        Path newest = newestSegment();
        long end = Files.size(newest);
        try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(Files.readAllBytes(files(dir).get(0))).position(32), end);
        }
        try (UndoLog undo = UndoLog.open(dir, SMALL, CLOCK)) {
            List<UndoRecord> got = newestFirst(undo, 0);
            long expected = undo.newestSequence();
            for (UndoRecord r : got) {
                assertEquals(expected--, r.sequence(), "a record of another segment was read as this one's");
                assertEquals(rec(r.sequence()), r);
            }
            assertEquals(undo.window().oldestReachableSequence(), expected);
            assertEquals(end, Files.size(newest), "the older bytes were cut as a torn tail");
        }
    }

    @Test
    void theWindowCountsWhatTheDirectoryTakesWithTheSpareAndAReusedSegmentsOlderRecords() throws IOException {
        try (UndoLog undo = hundredRecords(() -> true)) {
            undo.sync();
            assertDiskBytesMatchTheDirectory(undo, "before retention");
            assertTrue(undo.enforceRetention() > 0);
            undo.sync();
            UndoLog.Window w = assertDiskBytesMatchTheDirectory(undo, "with a spare kept");
            assertTrue(w.diskBytes() > w.bytes(), "the spare counts: " + w);
            try (UndoLog reader = UndoLog.openReadOnly(dir)) {
                assertEquals(w.diskBytes(), reader.window().diskBytes(), "a reader sees the spare too");
                assertEquals(w.bytes(), reader.window().bytes());
            }
            appendUntilANewSegment(undo);
            undo.sync();
            w = assertDiskBytesMatchTheDirectory(undo, "the spare reused as the newest segment");
            assertTrue(w.diskBytes() > w.bytes(), "the reused file's older records count until overwritten: " + w);
            try (UndoLog reader = UndoLog.openReadOnly(dir)) {
                assertEquals(w.diskBytes(), reader.window().diskBytes(), "a reader counts them too");
            }
        }
    }

    /** The window's diskBytes against the directory's file lengths. */
    private UndoLog.Window assertDiskBytesMatchTheDirectory(UndoLog undo, String when) throws IOException {
        long onDisk = 0;
        for (Path p : files(dir)) {
            onDisk += Files.size(p);
        }
        UndoLog.Window w = undo.window();
        assertEquals(onDisk, w.diskBytes(), when + ": " + files(dir));
        return w;
    }

    @Test
    void aSpareSomeReaderMayHoldIsDeletedNotReused() throws IOException {
        try (UndoLog undo = hundredRecords(() -> false)) {
            assertTrue(undo.enforceRetention() > 0);
            assertTrue(files(dir).stream().anyMatch(RetiredFiles::isRetired), "a spare is kept: " + files(dir));
            appendUntilANewSegment(undo);
            assertEquals(32, Files.size(newestSegment()), "a new file (a reused one is longer than its header)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (files(dir).stream().anyMatch(RetiredFiles::isRetired) && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(5); // the spare's deletion runs on a thread of its own
            }
            assertTrue(files(dir).stream().noneMatch(RetiredFiles::isRetired), "spare left: " + files(dir));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aDamagedSaltIsADamagedHeaderNotATornTail() throws IOException {
        fill(3);
        flip(newestSegment(), 29);
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.open(dir, CFG, CLOCK));
        assertTrue(e.getMessage().contains("header crc32c"), e.getMessage());
    }

    @Test
    void version1SegmentsWithoutASaltAreStillRead() throws IOException {
        ByteBuffer f = ByteBuffer.allocate(32 + 44 + 100);
        f.putInt(UndoSegment.MAGIC).putShort((short) 1).putShort((short) 0).putLong(7).putLong(0);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(f.array(), 0, 24);
        f.putInt((int) crc.getValue()).putInt(0);
        UndoRecord r = rec(7);
        f.putInt(40 + 100).putInt(0).put((byte) 1).put((byte) RecordKind.WRITE.wireValue()).putShort((short) 0)
                .putLong(7).putLong(7000).putLong(700).putLong(100).put(r.data());
        crc.reset();
        crc.update(f.array(), 32 + 8, 36 + 100);
        f.putInt(32 + 4, (int) crc.getValue());
        Files.write(dir.resolve(UndoSegment.fileName(7)), f.array());
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertEquals(List.of(r), newestFirst(undo, 0));
            undo.append(rec(8));
            undo.sync();
        }
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertEquals(List.of(rec(8), r), newestFirst(undo, 0));
        }
    }

    @Test
    void aSegmentWhoseHeaderSaysAnotherBaseThanItsNameIsRefused() throws IOException {
        fill(3);
        Path segment = newestSegment();
        Files.move(segment, dir.resolve(UndoSegment.fileName(2)));
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.open(dir, CFG, CLOCK));
        assertTrue(e.getMessage().contains("header's baseSequence: 1 (expected: 2, from the file name)"), e.getMessage());
    }

    @Test
    void aReaderStillReportsDamageThatReadingAgainDoesNotClear() throws IOException {
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            for (long s = 1; s <= 60; s++) {
                undo.append(rec(s));
            }
            undo.sync();
        }
        Path sealed = files(dir).get(0);
        flip(sealed, 32 + 44 + 3); // the first record's data: later records follow it
        UndoFormatException e = assertThrows(UndoFormatException.class, () -> UndoLog.openReadOnly(dir));
        assertTrue(e.getMessage().contains("mid-file corruption at offset 32"), e.getMessage());
    }

    private static void flip(Path file, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x40));
            b.rewind();
            ch.write(b, offset);
        }
    }

    @Test
    void sequencesOfListsFlushAndMarkNotesAcrossSegmentsAfterReopening() throws IOException {
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            for (long s = 1; s <= 120; s++) {
                undo.append(s % 10 == 0 ? UndoRecord.note(s, s * 1000, s % 30 == 0 ? RecordKind.MARK : RecordKind.FLUSH)
                        : rec(s));
            }
            undo.sync();
        }
        try (UndoLog undo = UndoLog.openReadOnly(dir)) {
            assertTrue(undo.window().segments() > 1, "test needs several segments");
            assertEquals(List.of(10L, 20L, 30L, 40L, 50L, 60L, 70L, 80L, 90L, 100L, 110L, 120L),
                    java.util.Arrays.stream(undo.sequencesOf(java.util.Set.of(RecordKind.FLUSH, RecordKind.MARK)))
                            .boxed().toList());
            assertEquals(List.of(30L, 60L, 90L, 120L),
                    java.util.Arrays.stream(undo.sequencesOf(java.util.Set.of(RecordKind.MARK))).boxed().toList());
        }
    }

    /**
     * Every applied record leaves an undo record, so a jump in the sequences is records missing
     * from the log (a synced tail lost and written over since, a segment gone from the middle),
     * unless the record after it is a RESYNC_BEGIN or a GAP (the replica's own sequence jumped
     * there): the window starts after a missing stretch, never across it.
     */
    @Test
    void recordsMissingFromTheMiddleCutTheWindowALegitimateJumpDoesNot() throws IOException {
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            for (long s = 1; s <= 7; s++) {
                undo.append(rec(s));
            }
            for (long s = 11; s <= 60; s++) { // 8..10 gone; several segments of 4 KiB follow
                undo.append(rec(s));
            }
            undo.sync();
            assertEquals(0, undo.window().oldestReachableSequence(), "the writer itself saw no loss");
        }
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertEquals(10, undo.window().oldestReachableSequence(), "no rollback across seq 8..10");
        }
        try (UndoLog undo = UndoLog.openReadOnly(dir)) {
            assertEquals(10, undo.window().oldestReachableSequence(), "readers see the same window");
        }
    }

    @Test
    void aJumpToAResyncBeginOrAGapIsTheReplicasOwnAndKeepsTheWindow() throws IOException {
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            for (long s = 1; s <= 7; s++) {
                undo.append(rec(s));
            }
            undo.append(UndoRecord.note(20, 20_000, RecordKind.RESYNC_BEGIN));
            for (long s = 21; s <= 30; s++) {
                undo.append(rec(s));
            }
            undo.append(UndoRecord.note(40, 40_000, RecordKind.GAP));
            undo.append(rec(41));
            undo.sync();
        }
        try (UndoLog undo = UndoLog.open(dir, CFG, CLOCK)) {
            assertEquals(0, undo.window().oldestReachableSequence());
        }
    }
}
