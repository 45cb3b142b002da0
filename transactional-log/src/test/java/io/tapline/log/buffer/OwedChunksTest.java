package io.tapline.log.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chunks a resync epoch drained, kept until it completes: what a restarted source reads back
 * in each state a stop or a power cut can leave ({@link OwedChunks}'s durability rules), and that
 * no state makes it believe less is owed than was.
 */
class OwedChunksTest {
    private static final int CHUNK = 1 << 20;
    private static final long SIZE = 64L * CHUNK;
    private static final long EPOCH = 0x5eedL;

    @TempDir
    Path dir;

    /** The chunks in the set, emptying it (so that each restart below starts from an empty set). */
    private static List<Long> takeAll(ChangedChunks c) throws IOException {
        ChangedChunks.Snapshot s = c.drain(0);
        List<Long> out = new ArrayList<>();
        for (long i = s.next(0, SIZE / CHUNK); i >= 0; i = s.next(i + 1, SIZE / CHUNK)) {
            out.add(i);
        }
        return out;
    }

    /** Chunks 3, 9, 40 drained by epoch EPOCH, which compared up to {@code reached} before the process stopped. */
    private void drainedAndCut(long reached) throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(3L * CHUNK, 1);
            c.mark(9L * CHUNK, 1);
            c.mark(40L * CHUNK, 1);
            c.drainOwed(100, EPOCH, false);
            assertTrue(c.isEmpty(), "drained");
            if (reached > 0) {
                c.owedCompareReached(EPOCH, reached);
            }
        }
    }

    /** What a restarted source's engine does: the owed chunks back into the set; then the set's chunks. */
    private List<Long> afterRestart() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            OwedChunks.Owed o = c.owedByACutEpoch();
            if (o != null) {
                assertEquals(EPOCH, o.epochId());
                c.restore(o.chunks(), o.fromBytes(), SIZE);
            }
            return takeAll(c);
        }
    }

    @Test
    void aCutEpochOwesWhatItDrainedFromWhereItsComparisonReached() throws IOException {
        drainedAndCut(0);
        assertEquals(List.of(3L, 9L, 40L), afterRestart(), "nothing compared: all of it");
        drainedAndCut(10L * CHUNK);
        assertEquals(List.of(40L), afterRestart(), "chunks before 10 compared");
    }

    @Test
    void aFullEpochOwesTheRestOfTheVolume() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(3L * CHUNK, 1);
            c.drainOwed(100, EPOCH, true);
            c.owedCompareReached(EPOCH, 60L * CHUNK);
        }
        assertEquals(List.of(60L, 61L, 62L, 63L), afterRestart());
    }

    @Test
    void aCompletedEpochOwesNothing() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(3L * CHUNK, 1);
            c.drainOwed(100, EPOCH, false);
            c.owedSettled();
            assertNull(c.owedByACutEpoch());
        }
        assertEquals(List.of(), afterRestart());
    }

    @Test
    void progressOfAnotherEpochIsNotTaken() throws IOException {
        drainedAndCut(0);
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.owedCompareReached(EPOCH + 1, SIZE); // an epoch that drained nothing of its own
        }
        assertEquals(List.of(3L, 9L, 40L), afterRestart());
    }

    /** A cut after the owed file was made durable and before the set was emptied: both hold the chunks. */
    @Test
    void aCutBetweenKeepingAndDrainingPutsTheChunksBackOnce() throws IOException {
        byte[] setBefore;
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(3L * CHUNK, 1);
            c.mark(9L * CHUNK, 1);
            c.force();
            setBefore = Files.readAllBytes(dir.resolve(ChangedChunks.FILE));
            c.drainOwed(100, EPOCH, false);
        }
        Files.write(dir.resolve(ChangedChunks.FILE), setBefore); // the drain's rewrite never reached the disk
        assertEquals(List.of(3L, 9L), afterRestart());
    }

    /** The states a power cut can leave of the file: each reads as the whole owed set, or as nothing kept. */
    @Test
    void everyDamagedStateIsReadAsNothingKeptNeverAsLessOwed() throws IOException {
        drainedAndCut(10L * CHUNK);
        Path file = dir.resolve(OwedChunks.FILE);
        byte[] good = Files.readAllBytes(file);
        int checked = 0;
        for (int length = 0; length < good.length; length++) { // torn at every length: the replace never landed whole
            Files.write(file, java.util.Arrays.copyOf(good, length));
            try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
                assertNull(c.owedByACutEpoch(), "a file cut at " + length + " bytes is not read");
            }
            checked++;
        }
        for (int at = 0; at < good.length; at++) { // one byte flipped anywhere (a torn in-place header, bit rot)
            byte[] bad = good.clone();
            bad[at] ^= 0x10;
            Files.write(file, bad);
            try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
                OwedChunks.Owed o = c.owedByACutEpoch();
                boolean zeroPad = at >= 40 && at < OwedChunks.HEADER_BYTES; // unused header bytes
                if (zeroPad) {
                    assertNotNull(o, "a flipped unused byte at " + at);
                } else {
                    assertNull(o, "a flipped byte at " + at + " is not read");
                }
            }
            checked++;
        }
        assertTrue(checked > 100, "states checked: " + checked);
        Files.write(file, good);
        assertEquals(List.of(40L), afterRestart(), "the intact file, for comparison");
    }

    /** The in-place progress write torn: each mix of the old and the new header reads as one of them or not at all. */
    @Test
    void aTornProgressWriteReadsAsTheOldProgressTheNewOneOrNothingKept() throws IOException {
        drainedAndCut(5L * CHUNK);
        Path file = dir.resolve(OwedChunks.FILE);
        byte[] before = Files.readAllBytes(file);
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.owedCompareReached(EPOCH, 20L * CHUNK);
        }
        byte[] after = Files.readAllBytes(file);
        for (int cut = 0; cut <= 40; cut++) { // the first `cut` bytes of the new header reached the disk
            byte[] mixed = before.clone();
            System.arraycopy(after, 0, mixed, 0, cut);
            Files.write(file, mixed);
            OwedChunks.Owed read = OwedChunks.read(dir);
            if (cut == 0 || cut == 40) {
                assertEquals(cut == 0 ? List.of(9L, 40L) : List.of(40L), afterRestart(), "cut " + cut);
            } else if (read != null) {
                assertTrue(read.fromBytes() == 5L * CHUNK || read.fromBytes() == 20L * CHUNK,
                        "cut " + cut + " read with fromBytes " + read.fromBytes());
            }
        }
    }
}
