package io.tapline.log.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChangedChunksTest {
    private static final int CHUNK = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aCopyEmptiesTheSetOnlyWhenItCompletesAndKeepsChunksMarkedMeanwhile() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(0, 1);
            c.mark(5L * CHUNK, 1);
            ChangedChunks.Snapshot s = c.snapshotForCopy();
            assertEquals(2, c.count(), "a copy leaves the set in place until it completes");
            c.mark(5L * CHUNK + 7, 1); // chunk 5 written again while the copy ran
            c.mark(9L * CHUNK, 1);
            c.copied(s, 77);
            assertEquals(2, c.count(), "chunk 0 copied; 5 marked again and 9 new stay");
            assertEquals(0, c.sinceSequence(), "marks during the copy keep the old bound");
            ChangedChunks.Snapshot again = c.snapshotForCopy();
            c.copied(again, 90);
            assertTrue(c.isEmpty());
            assertEquals(90, c.sinceSequence(), "a copy with nothing marked meanwhile moves the bound to its BEGIN");
        }
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertTrue(c.isEmpty(), "durable");
            assertEquals(90, c.sinceSequence());
        }
    }

    @Test
    void aCopyCutShortLeavesEveryChunkForTheNextOne() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(3L * CHUNK, 1);
            c.markAll(ChangedChunks.WholeVolumeCause.RANGE_UNKNOWN);
            c.snapshotForCopy(); // the process dies before copied
            c.force();
        }
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertEquals(-1, c.count(), "still the whole volume");
            ChangedChunks.Snapshot s = c.snapshotForCopy();
            c.markAll(ChangedChunks.WholeVolumeCause.RANGE_UNKNOWN); // the range of a new loss is unknown while the copy runs
            c.copied(s, 12);
            assertEquals(-1, c.count(), "a whole-volume mark during the copy keeps the whole volume");
            ChangedChunks.Snapshot full = c.snapshotForCopy();
            c.copied(full, 20);
            assertTrue(c.isEmpty());
        }
    }

    @Test
    void aWholeVolumeMarkKeepsItsCauseUntilDrained() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertNull(c.wholeVolumeCause());
            c.mark(3L * CHUNK, 1);
            assertEquals("1 chunks", c.describe());
            c.markAll(ChangedChunks.WholeVolumeCause.PRIMARY_CHANGED);
            c.markAll(ChangedChunks.WholeVolumeCause.RANGE_UNKNOWN); // already whole: the first cause stays
            assertEquals("whole volume (the primary image was changed while the wedge did not hold it)", c.describe());
        }
        assertEquals(ChangedChunks.WholeVolumeCause.PRIMARY_CHANGED, ChangedChunks.readWholeVolumeCause(dir));
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertEquals(ChangedChunks.WholeVolumeCause.PRIMARY_CHANGED, c.wholeVolumeCause(), "durable");
            c.drain(40);
            assertNull(c.wholeVolumeCause());
        }
        assertNull(ChangedChunks.readWholeVolumeCause(dir));
    }

    @Test
    void aWholeVolumeMarkWithoutACauseReadsAsUnknownAndADamagedSetSaysSo() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.markAll(ChangedChunks.WholeVolumeCause.UNCLEAN_SHUTDOWN);
        }
        Path file = dir.resolve(ChangedChunks.FILE);
        byte[] b = Files.readAllBytes(file);
        java.nio.ByteBuffer.wrap(b).putShort(6, (short) 1); // as written before causes were kept
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, 0, 20);
        java.nio.ByteBuffer.wrap(b).putInt(20, (int) crc.getValue());
        Files.write(file, b);
        assertEquals(ChangedChunks.WholeVolumeCause.UNKNOWN, ChangedChunks.readWholeVolumeCause(dir));
        b[13] ^= 1; // the header's CRC no longer matches
        Files.write(file, b);
        assertEquals(ChangedChunks.WholeVolumeCause.SET_DAMAGED, ChangedChunks.readWholeVolumeCause(dir));
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertEquals(ChangedChunks.WholeVolumeCause.SET_DAMAGED, c.wholeVolumeCause());
        }
    }

    @Test
    void marksChunksOfARangeAndKeepsThemAcrossReopen() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertTrue(c.isEmpty());
            c.mark(CHUNK - 1, 2); // straddles chunks 0 and 1
            c.mark(10L * CHUNK, 1);
            c.mark(10L * CHUNK + 5, 1); // same chunk again
            c.force();
            assertEquals(3, c.count());
        }
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertEquals(3, c.count());
            ChangedChunks.Snapshot s = c.drain(42);
            assertTrue(s.contains(0) && s.contains(1) && s.contains(10));
            assertFalse(s.contains(2));
            assertEquals(10, s.next(2, 100));
            assertEquals(-1, s.next(11, 100));
            assertTrue(c.isEmpty());
            assertEquals(42, c.sinceSequence());
        }
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            assertTrue(c.isEmpty(), "a drain is durable");
            assertEquals(42, c.sinceSequence());
        }
    }

    @Test
    void anotherProcessReadsTheTrackedRangesCoalesced() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(2L * CHUNK, 3L * CHUNK); // chunks 2, 3, 4
            c.mark(9L * CHUNK + 7, 1);
            c.force();
            java.util.List<long[]> r = ChangedChunks.readRanges(dir, 10);
            assertEquals(2, r.size());
            assertEquals(2L * CHUNK, r.get(0)[0]);
            assertEquals(3L * CHUNK, r.get(0)[1]);
            assertEquals(9L * CHUNK, r.get(1)[0]);
            assertEquals(CHUNK, r.get(1)[1]);
            assertEquals(1, ChangedChunks.readRanges(dir, 1).size(), "bounded");
        }
    }

    @Test
    void unknownRangeMarksTheWholeVolume() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(0, Long.MAX_VALUE);
            assertEquals(-1, c.count());
            assertTrue(c.drain(1).contains(123_456));
        }
        assertEquals(0, ChangedChunks.readCount(dir));
    }

    @Test
    void everyCrashStateOfTheFileReopensWithoutLosingADurableBit() throws IOException {
        // Durable: bits 3 and 700 set and forced (fdatasync also makes the file's length durable).
        byte[] durable;
        byte[] later;
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(3L * CHUNK, 1);
            c.mark(700L * CHUNK, 1);
            c.force();
            durable = Files.readAllBytes(dir.resolve(ChangedChunks.FILE));
            c.mark(4L * CHUNK, 1); // in place, inside the durable length
            c.mark(5000L * CHUNK, 1); // extends the file
            later = Files.readAllBytes(dir.resolve(ChangedChunks.FILE));
        }
        // What a power cut can leave: the durable bytes, with or without the in-place byte of
        // bit 4, and the extension cut at any length. Every state must keep the durable bits.
        int states = 0;
        for (int inPlace = 0; inPlace < 2; inPlace++) {
            for (int cut = durable.length; cut <= later.length; cut++) {
                byte[] state = Arrays.copyOf(later, cut);
                if (inPlace == 0) {
                    System.arraycopy(durable, 0, state, 0, durable.length);
                }
                Path d = Files.createDirectories(dir.resolve("state-" + inPlace + "-" + cut));
                Files.write(d.resolve(ChangedChunks.FILE), state);
                try (ChangedChunks c = ChangedChunks.open(d, CHUNK)) {
                    ChangedChunks.Snapshot s = c.drain(1);
                    assertTrue(s.contains(3) && s.contains(700), "state " + inPlace + "/" + cut + " lost a durable bit");
                    assertFalse(s.contains(6), "state " + inPlace + "/" + cut + " invented a bit");
                }
                states++;
            }
        }
        assertTrue(states > 100, "states explored: " + states);
        // A header damaged by the disk (not by a cut: it is only ever replaced by rename) fails
        // its CRC and is read as "compare the whole volume": nothing is missed.
        for (int flip = 0; flip < 24; flip++) {
            Path d = Files.createDirectories(dir.resolve("flip-" + flip));
            byte[] bad = durable.clone();
            bad[flip] ^= 0x40;
            Files.write(d.resolve(ChangedChunks.FILE), bad);
            try (ChangedChunks c = ChangedChunks.open(d, CHUNK)) {
                assertTrue(c.drain(1).all(), "flip " + flip);
            }
        }
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Files.write(empty.resolve(ChangedChunks.FILE), new byte[0]);
        try (ChangedChunks c = ChangedChunks.open(empty, CHUNK)) {
            assertTrue(c.drain(1).all(), "an empty file is read as the whole volume");
        }
    }

    @Test
    void bitsSetButNotForcedMayBeLostOnlyToAPowerCutThatAlsoLosesTheUnflushedWrites() throws IOException {
        try (ChangedChunks c = ChangedChunks.open(dir, CHUNK)) {
            c.mark(5L * CHUNK, 1);
            c.force();
            c.mark(9L * CHUNK, 1); // in the page cache only
            byte[] now = Files.readAllBytes(dir.resolve(ChangedChunks.FILE));
            assertEquals(0x20, now[ChangedChunks.HEADER_BYTES] & 0xFF, "bit 5 on disk image");
            assertEquals(0x02, now[ChangedChunks.HEADER_BYTES + 1] & 0xFF, "bit 9 written in place at once");
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(ChangedChunks.FILE).toFile(), "rw")) {
            assertTrue(f.length() >= ChangedChunks.HEADER_BYTES + 2);
        }
    }

    @Test
    void aBufferNotClosedCleanlyTracksEveryChunkOnReopen() throws IOException {
        Path vol = dir.resolve("vol1");
        try (CaptureBuffer b = CaptureBuffer.open(vol, "vol1", BufferConfig.DEFAULT)) {
            assertFalse(b.uncleanShutdown(), "a new buffer");
            b.append(io.tapline.log.RecordKind.WRITE, 0, 4, 0, io.tapline.log.Provenance.INTERNAL, new byte[4]);
        }
        try (CaptureBuffer b = CaptureBuffer.open(vol, "vol1", BufferConfig.DEFAULT)) {
            assertFalse(b.uncleanShutdown(), "closed cleanly");
            assertEquals(0, b.status().trackedChunks());
        }
        // The state a crash leaves: the marker was deleted at open and never written again.
        Files.delete(vol.resolve(CaptureBuffer.CLEAN_SHUTDOWN_FILE));
        try (CaptureBuffer b = CaptureBuffer.open(vol, "vol1", BufferConfig.DEFAULT)) {
            assertTrue(b.uncleanShutdown());
            assertEquals(-1, b.status().trackedChunks(), "every chunk: the primary may hold writes a power cut"
                    + " took from the buffer");
            assertFalse(Files.exists(vol.resolve(CaptureBuffer.CLEAN_SHUTDOWN_FILE)), "removed while open");
        }
        assertTrue(Files.exists(vol.resolve(CaptureBuffer.CLEAN_SHUTDOWN_FILE)), "written back by close");
    }
}
