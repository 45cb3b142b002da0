package io.tapline.log.undo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.volume.ResidentPages;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The before-image of each record is the volume as it was just before that record, byte for
 * byte, whatever the batch looks like: runs of contiguous records read in one window, records
 * overlapping earlier ones of the batch (overlaid in the window), zeroes, and ranges longer than
 * one undo record. Checked by rolling the batch back onto the replica after applying it: each
 * rollback point must give the model's image at that point.
 */
class BeforeImagesTest {
    private static final int SIZE = 4 << 20;
    private static final Provenance PROV = Provenance.INTERNAL;
    /** Where a sparse replica holds its only data, and how much. */
    private static final int ISLAND = 1 << 20;
    private static final int ISLAND_BYTES = 64 << 10;

    @TempDir
    Path dir;

    @Test
    void contiguousRunWithOverlapsGivesEveryEarlierImage() throws IOException {
        List<CaptureRecord> batch = new ArrayList<>();
        // A sequential run (one window), then records that overwrite parts of it, a zeroing
        // record inside it, and one record longer than an undo record (1 MiB).
        batch.add(write(1, 0, 4096, 1));
        batch.add(write(2, 4096, 4096, 2));
        batch.add(write(3, 8192, 8192, 3));
        batch.add(write(4, 2048, 8192, 4));
        batch.add(zeroes(5, 6000, 3000));
        batch.add(write(6, 0, 16384, 6));
        batch.add(write(7, 100_000, (1 << 20) + 5000, 7));
        batch.add(write(8, 100_000 + 4096, 4096, 8));
        checkRollbacks(batch);
    }

    @Test
    void randomBatchesOfSmallAndContiguousRecords() throws IOException {
        Random rnd = new Random(7);
        List<CaptureRecord> batch = new ArrayList<>();
        long next = 0;
        for (long seq = 1; seq <= 400; seq++) {
            int len = 512 * (1 + rnd.nextInt(32));
            // Half the records continue the previous one (a window run), the rest land anywhere.
            long offset = rnd.nextBoolean() ? next : (rnd.nextInt(SIZE - len) & ~511L);
            if (offset + len > SIZE) {
                offset = 0;
            }
            batch.add(rnd.nextInt(10) == 0 ? zeroes(seq, offset, len) : write(seq, offset, len, (int) seq));
            next = offset + len;
        }
        checkRollbacks(batch);
    }

    @Test
    void denseOverlapsFormClustersOfManyRecords() throws IOException {
        // 600 records in two 64 KiB regions far apart: two clusters of ~300 overlapping records,
        // each record's overlay must take every earlier record of its own cluster.
        Random rnd = new Random(11);
        List<CaptureRecord> batch = new ArrayList<>();
        for (long seq = 1; seq <= 600; seq++) {
            long region = rnd.nextBoolean() ? 0 : 3 << 20;
            int len = 512 * (1 + rnd.nextInt(8));
            long offset = region + (rnd.nextInt(65536 - len) & ~511L);
            batch.add(rnd.nextInt(8) == 0 ? zeroes(seq, offset, len) : write(seq, offset, len, (int) seq));
        }
        checkRollbacks(batch);
    }

    @Test
    void holesOfASparseReplicaGiveEveryEarlierImage() throws IOException {
        // Windows of 64 KiB and more in holes (not read), one that meets written data (read), a
        // cluster of overlapping records in a hole (overlaid on zeroes), and a record in a hole
        // longer than an undo record.
        List<CaptureRecord> batch = new ArrayList<>();
        long seq = 1;
        for (long at = 0; at < 512 << 10; at += 64 << 10) {
            batch.add(write(seq++, at, 64 << 10, 1));
        }
        batch.add(write(seq++, ISLAND, 128 << 10, 2)); // half data, half hole: read
        batch.add(write(seq++, 2 << 20, 256 << 10, 3));
        batch.add(write(seq++, (2 << 20) + 4096, 8192, 4)); // overlaps the record before it
        batch.add(zeroes(seq++, (2 << 20) + 100_000, 70_000));
        batch.add(write(seq++, (2 << 20) + 90_000, 20_000, 5));
        batch.add(write(seq, (2 << 20) + (512 << 10), (1 << 20) + 8192, 6));
        checkRollbacks(batch, true);
    }

    @Test
    void holeWindowsAreNotRead() throws Exception {
        // Read, a hole's pages would be in the page cache: the replica's cached pages stay as they were.
        try (VolumeFile probe = VolumeFile.openOrCreate(dir.resolve("probe.img"), SIZE)) {
            probe.read(0, java.nio.ByteBuffer.allocate(64 << 10));
            assertTrue(ResidentPages.bytesOf(dir.resolve("probe.img")) > 0, "reading a hole caches its pages on the "
                    + "temporary directory's file system (a disk's, as in CI; tmpfs caches none and cannot show it)");
        }
        List<CaptureRecord> batch = new ArrayList<>();
        batch.add(write(1, 0, 256 << 10, 1));
        batch.add(write(2, 256 << 10, 256 << 10, 2));
        batch.add(write(3, 2 << 20, 128 << 10, 3));
        batch.add(write(4, (2 << 20) + 8192, 4096, 4)); // an overlap cluster: overlaid on zeroes
        try (VolumeFile replica = VolumeFile.openOrCreate(dir.resolve("replica.img"), SIZE);
                UndoLog undo = UndoLog.open(dir.resolve("undo"), new UndoConfig(1 << 20, 1L << 30, Duration.ofDays(1)),
                        Clock.systemUTC())) {
            byte[] island = new byte[ISLAND_BYTES];
            new Random(3).nextBytes(island);
            replica.write(ISLAND, island); // the replica's only data, in the page cache
            long cached = ResidentPages.bytesOf(dir.resolve("replica.img"));
            new BeforeImages().take(replica, batch, undo);
            assertEquals(cached, ResidentPages.bytesOf(dir.resolve("replica.img")),
                    "bytes of the replica in the page cache");
            undo.sync();
            assertEquals(batch.size(), undo.countAbove(0), "undo records, one per record");
        }
    }

    /** Applies {@code batch} after taking its before-images, then rolls back to every fifth sequence. */
    private void checkRollbacks(List<CaptureRecord> batch) throws IOException {
        checkRollbacks(batch, false);
    }

    /**
     * {@link #checkRollbacks(List)} on a replica written whole with random bytes, or, when
     * {@code sparse}, holding only an island of random bytes at {@link #ISLAND} in holes.
     */
    private void checkRollbacks(List<CaptureRecord> batch, boolean sparse) throws IOException {
        byte[] initial = new byte[SIZE];
        new Random(1).nextBytes(initial);
        if (sparse) {
            Arrays.fill(initial, 0, ISLAND, (byte) 0);
            Arrays.fill(initial, ISLAND + ISLAND_BYTES, SIZE, (byte) 0);
        }
        Arrays.fill(initial, SIZE / 2, SIZE / 2 + 65536, (byte) 0); // an all-zero before-image too
        Path replicaPath = dir.resolve("replica.img");
        try (VolumeFile replica = VolumeFile.openOrCreate(replicaPath, SIZE);
                UndoLog undo = UndoLog.open(dir.resolve("undo"), new UndoConfig(1 << 20, 1L << 30, Duration.ofDays(1)),
                        Clock.systemUTC())) {
            if (sparse) {
                replica.write(ISLAND, Arrays.copyOfRange(initial, ISLAND, ISLAND + ISLAND_BYTES));
                assertTrue(replica.isHole(0, ISLAND), "the file system keeps holes (SEEK_DATA)");
            } else {
                replica.write(0, initial);
            }
            new BeforeImages().take(replica, batch, undo);
            undo.sync();
            for (CaptureRecord r : batch) {
                apply(replica, r);
            }
            long last = batch.get(batch.size() - 1).sequence();
            for (long target = last - 1; target >= 0; target -= Math.max(1, last / 5)) {
                undo.rollBackAbove(target, new UndoLog.Applier() {
                    @Override
                    public void apply(UndoRecord u) throws IOException {
                        if (u.zeroes()) {
                            replica.write(u.offsetBytes(), new byte[(int) u.lengthBytes()]);
                        } else {
                            replica.write(u.offsetBytes(), u.data());
                        }
                    }

                    @Override
                    public void force() {
                        // The test reads the replica back in this process.
                    }
                }, (done, total) -> { });
                byte[] got = new byte[SIZE];
                replica.read(0, java.nio.ByteBuffer.wrap(got));
                assertArrayEquals(model(initial, batch, target), got, "image at sequence " + target);
                assertEquals(0, undo.countAbove(target), "records left above " + target);
            }
        }
    }

    private static byte[] model(byte[] initial, List<CaptureRecord> batch, long upTo) {
        byte[] img = initial.clone();
        for (CaptureRecord r : batch) {
            if (r.sequence() > upTo) {
                break;
            }
            if (r.kind() == RecordKind.WRITE) {
                System.arraycopy(r.payload(), 0, img, (int) r.offsetBytes(), (int) r.lengthBytes());
            } else {
                Arrays.fill(img, (int) r.offsetBytes(), (int) (r.offsetBytes() + r.lengthBytes()), (byte) 0);
            }
        }
        return img;
    }

    private static void apply(VolumeFile replica, CaptureRecord r) throws IOException {
        byte[] bytes = r.kind() == RecordKind.WRITE ? r.payload() : new byte[(int) r.lengthBytes()];
        replica.write(r.offsetBytes(), bytes);
    }

    @Test
    void theSmallWindowsAskedForAreTheOnesTakeReads() {
        List<CaptureRecord> records = List.of(
                write(1, 8192, 4096, 1), write(2, 12288, 4096, 2), // one run: one window [8 KiB, 16 KiB)
                write(3, 1 << 20, 4096, 3),
                write(4, 1 << 20, 512, 4), // inside the window read last: none
                CaptureRecord.seal("vol1", 5, 5000, RecordKind.FLUSH, 0, 0, 0, PROV, null),
                write(6, 2 << 20, 128 << 10, 6), // a large window: read in one go after its hole check
                write(7, 8192, 4096, 7), // outside the window read last: read again
                zeroes(8, 64L << 20, 16 << 20)); // longer than a window: chunk by chunk
        List<long[]> w = BeforeImages.smallWindows(records);
        assertEquals(List.of("8192-16384", "1048576-1052672", "8192-12288"),
                w.stream().map(x -> x[0] + "-" + x[1]).toList());
    }

    private static CaptureRecord write(long seq, long offset, int len, int fill) {
        byte[] p = new byte[len];
        new Random(seq * 31 + fill).nextBytes(p);
        return CaptureRecord.seal("vol1", seq, seq * 1000, RecordKind.WRITE, offset, len, 0, PROV, p);
    }

    private static CaptureRecord zeroes(long seq, long offset, int len) {
        return CaptureRecord.seal("vol1", seq, seq * 1000, RecordKind.WRITE_ZEROES, offset, len, 0, PROV, null);
    }
}
