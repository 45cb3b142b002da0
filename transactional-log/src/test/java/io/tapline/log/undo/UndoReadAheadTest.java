package io.tapline.log.undo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
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
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rollback's reader thread ({@link UndoReadAhead}) and its O_DIRECT window
 * ({@link UndoReadWindow}), through {@link UndoLog#rollBackAbove} and {@link UndoLog#replayAbove}:
 * every record comes back newest first with its bytes, across segments and window edges, more
 * than the reader may hold ahead; damage and a failing applier stop the reader.
 */
class UndoReadAheadTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    /** Record {@code seq}: odd sizes (not block multiples) so records straddle window and block edges. */
    private static UndoRecord rec(long seq) {
        int size = (int) (seq * 7919 % (UndoSegment.MAX_DATA_BYTES - 1)) + 1;
        byte[] old = new byte[size];
        new Random(seq).nextBytes(old);
        return UndoRecord.of(seq, seq * 1000, RecordKind.WRITE, seq << 20, old);
    }

    private static final class Collect implements UndoLog.Applier {
        final List<UndoRecord> applied = new ArrayList<>();
        int forces;

        @Override
        public void apply(UndoRecord r) {
            applied.add(r);
        }

        @Override
        public void force() {
            forces++;
        }
    }

    private static boolean readerAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().startsWith("tapline-undo-read-") && t.isAlive());
    }

    @Test
    void rollbackReturnsEveryRecordNewestFirstBeyondTheReadersLeadAndWindows() throws IOException {
        // ~ 100 MiB in 32 MiB segments: more than the 32 MiB the reader may hold ahead, and several
        // 4 MiB windows in each segment, with records across their edges.
        UndoConfig cfg = new UndoConfig(32 << 20, 1L << 40, Duration.ofDays(1));
        int n = 180;
        long bytes = 0;
        try (UndoLog undo = UndoLog.open(dir, cfg, CLOCK)) {
            for (long s = 1; s <= n; s++) {
                undo.append(rec(s));
                bytes += rec(s).data().length;
            }
            undo.sync();
            assertTrue(bytes > 2 * UndoReadAhead.AHEAD_BYTES, "bytes=" + bytes);
            assertTrue(undo.window().segments() >= 3);
            Collect c = new Collect();
            assertEquals(n - 10, undo.rollBackAbove(10, c, (d, t) -> { }));
            assertEquals(n - 10, c.applied.size());
            for (int i = 0; i < c.applied.size(); i++) {
                UndoRecord want = rec(n - i);
                assertEquals(want.sequence(), c.applied.get(i).sequence(), "record " + i);
                assertArrayEquals(want.data(), c.applied.get(i).data(), "bytes of seq " + want.sequence());
            }
            assertEquals(10, undo.newestSequence());
        }
        assertFalse(readerAlive(), "the reader thread ends with the rollback");
        try (UndoLog undo = UndoLog.openReadOnly(dir)) {
            Collect c = new Collect();
            assertEquals(10, undo.replayAbove(0, c));
            assertArrayEquals(rec(1).data(), c.applied.get(9).data());
        }
    }

    @Test
    void rollbackOnTmpfsReadsEveryRecordWhateverItMakesOfODirect() throws IOException {
        Path shm = Path.of("/dev/shm");
        assertTrue(Files.isDirectory(shm) && Files.isWritable(shm), "/dev/shm (tmpfs, on every Linux) is missing");
        Path tmpfs = Files.createTempDirectory(shm, "tapline-undo-read-");
        try {
            try (UndoLog undo = UndoLog.open(tmpfs, new UndoConfig(8 << 20, 1L << 40, Duration.ofDays(1)), CLOCK)) {
                for (long s = 1; s <= 40; s++) {
                    undo.append(rec(s));
                }
                undo.sync();
                Collect c = new Collect();
                assertEquals(40, undo.rollBackAbove(0, c, (d, t) -> { }));
                for (int i = 0; i < 40; i++) {
                    assertArrayEquals(rec(40 - i).data(), c.applied.get(i).data(), "record " + i);
                }
            }
        } finally {
            deleteTree(tmpfs);
        }
    }

    /** Deletes {@code dir}; a retired segment the log's deleter thread removes meanwhile is no error. */
    private static void deleteTree(Path dir) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                return;
            } catch (java.io.UncheckedIOException e) {
                if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 3) {
                    throw e;
                }
            }
        }
    }

    @Test
    void damagedRecordStopsTheRollbackAfterEveryNewerRecordWasApplied() throws IOException {
        UndoConfig oneSegment = new UndoConfig(1 << 30, 1L << 40, Duration.ofDays(1));
        long damagedAt;
        try (UndoLog undo = UndoLog.open(dir, oneSegment, CLOCK)) {
            for (long s = 1; s <= 40; s++) {
                undo.append(rec(s));
            }
            undo.sync();
        }
        Path segment;
        try (var files = Files.list(dir)) {
            segment = files.filter(p -> p.toString().endsWith(UndoSegment.SUFFIX)).findFirst().orElseThrow();
        }
        try (UndoLog undo = UndoLog.open(dir, oneSegment, CLOCK)) {
            // Damaged after the log opened (as a bad sector read later): the rollback must refuse it.
            UndoSegment seg = UndoSegment.open(segment, false, false);
            damagedAt = seg.positionOf(19) + UndoSegment.RECORD_HEADER_BYTES + 5; // inside seq 20's before-image
            seg.close();
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(1);
                ch.read(b, damagedAt);
                ch.write(ByteBuffer.wrap(new byte[] {(byte) ~b.get(0)}), damagedAt);
                ch.force(true);
            }
            Collect c = new Collect();
            UndoFormatException e = assertThrows(UndoFormatException.class,
                    () -> undo.rollBackAbove(5, c, (d, t) -> { }));
            assertTrue(e.getMessage().startsWith("crc32c:"), e.getMessage());
            assertEquals(20, c.applied.size(), "seq 40 down to 21 applied, in order");
            assertEquals(21, c.applied.get(19).sequence());
        }
        assertFalse(readerAlive());
    }

    @Test
    void failingApplierStopsTheReaderAndTheLogReadsAgain() throws IOException {
        UndoConfig cfg = new UndoConfig(8 << 20, 1L << 40, Duration.ofDays(1));
        try (UndoLog undo = UndoLog.open(dir, cfg, CLOCK)) {
            for (long s = 1; s <= 150; s++) {
                undo.append(rec(s));
            }
            undo.sync();
            UndoLog.Applier failing = new UndoLog.Applier() {
                private int n;

                @Override
                public void apply(UndoRecord r) throws IOException {
                    if (++n == 3) {
                        throw new IOException("replica write failed: EIO");
                    }
                }

                @Override
                public void force() {
                    // Never reached.
                }
            };
            assertThrows(IOException.class, () -> undo.replayAbove(0, failing));
            assertFalse(readerAlive(), "close waits for the reader, which was ahead and waiting");
            Collect c = new Collect();
            assertEquals(150, undo.replayAbove(0, c));
            assertEquals(150, c.applied.get(0).sequence());
            assertArrayEquals(rec(1).data(), c.applied.get(149).data());
        }
    }
}
