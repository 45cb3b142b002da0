package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import io.tapline.log.volume.VolumeFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole-device TRIM or WRITE_ZEROES (what mkfs sends first) over a big, mostly sparse replica
 * (issue 8 item 6): its before-images skip the replica's holes instead of reading and recording
 * them 1 MiB at a time, and rolling it back restores every byte that was there.
 */
class LargeDiscardTest {
    private static final long SIZE = 16L << 30;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "10.0.0.1:4000", "vol1", 1, 0, 1);

    @TempDir
    Path data;

    private static CaptureRecord write(long seq, long offset, int len, int seed) {
        byte[] p = new byte[len];
        new java.util.Random(seed).nextBytes(p);
        return CaptureRecord.seal("vol1", seq, seq, RecordKind.WRITE, offset, len, 0, PROV, p);
    }

    /**
     * A whole-volume DISCARD over 192 MiB of data in three regions: the before-images are saved
     * and synced in steps of about 64 MiB, each followed by the zeroing of its range, not all at
     * once; a rollback restores every byte.
     */
    @Test
    void discardOverMuchDataIsSavedAndZeroedInBoundedSteps() throws Exception {
        long size = 1L << 30;
        JourneyMessage.Hello hello = new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                "vol1", size, 4096, "");
        long[] regions = {0, 300L << 20, 700L << 20};
        int recordBytes = 4 << 20;
        java.util.List<Long> undoSyncsAt = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Path> undoDir = new java.util.concurrent.atomic.AtomicReference<>();
        ApplyFaults counting = op -> {
            if (op == ApplyFaults.Op.UNDO_SYNC && undoDir.get() != null) {
                try (Stream<Path> s = Files.list(undoDir.get())) {
                    undoSyncsAt.add(s.mapToLong(p -> p.toFile().length()).sum());
                }
            }
        };
        java.security.MessageDigest before = java.security.MessageDigest.getInstance("MD5");
        try (ReplicaVolume v = ReplicaVolume.open(data, hello, UndoConfig.DEFAULT, counting)) {
            long seq = 1;
            for (long region : regions) {
                for (long off = region; off < region + (64L << 20); off += 8L * recordBytes) {
                    java.util.List<CaptureRecord> batch = new java.util.ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        CaptureRecord w = write(seq++, off + (long) i * recordBytes, recordBytes, (int) seq);
                        before.update(w.payload());
                        batch.add(w);
                    }
                    v.apply(BatchCodec.pack(seq, batch));
                }
            }
            long discardSeq = seq;
            undoDir.set(data.resolve("vol1/undo"));
            long undoBefore = undoBytes();
            v.apply(BatchCodec.pack(seq, List.of(CaptureRecord.seal("vol1", discardSeq, discardSeq,
                    RecordKind.DISCARD, 0, size, 0, PROV, null))));
            System.out.printf("discard over 192 MiB: undo syncs at bytes %s (undo before %d)%n", undoSyncsAt,
                    undoBefore);
            assertTrue(undoSyncsAt.size() >= 3, "steps: " + undoSyncsAt);
            long previous = undoBefore;
            for (long at : undoSyncsAt) {
                assertTrue(at - previous <= (64L << 20) + (64L << 20) + (1 << 20),
                        "a step saved " + (at - previous) + " bytes: " + undoSyncsAt);
                previous = at;
            }
            v.rollback(discardSeq - 1, "t", (d, t) -> { });
        }
        java.security.MessageDigest after = java.security.MessageDigest.getInstance("MD5");
        try (VolumeFile replica = VolumeFile.openExisting(data.resolve("vol1/replica.img"))) {
            for (long region : regions) {
                ByteBuffer b = ByteBuffer.allocate(64 << 20);
                replica.read(region, b);
                after.update(b.array());
            }
        }
        assertArrayEquals(before.digest(), after.digest(), "every region restored");
    }

    /** An EIO zeroing the second step: the first step is undone when the volume reopens; the retry applies. */
    @Test
    void failureBetweenStepsIsUndoneAndTheRetryApplies() throws Exception {
        long size = 512L << 20;
        JourneyMessage.Hello hello = new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                "vol1", size, 4096, "");
        ApplyFaultTest.FaultSwitch faults = new ApplyFaultTest.FaultSwitch();
        VolumeHost host = new VolumeHost("vol1", data, UndoConfig.DEFAULT, RoleListener.NONE, ApplyObserver.NONE,
                faults);
        try {
            ReplicaVolume v = host.open(hello);
            long seq = 1;
            java.util.List<CaptureRecord> writes = new java.util.ArrayList<>();
            for (long off = 0; off < (160L << 20); off += 4L << 20) {
                writes.add(write(seq++, off * 3, 4 << 20, (int) seq)); // spread over [0, 480 MiB)
            }
            for (int i = 0; i < writes.size(); i += 8) {
                v.apply(BatchCodec.pack(i, writes.subList(i, Math.min(writes.size(), i + 8))));
            }
            byte[] expected = Files.readAllBytes(data.resolve("vol1/replica.img"));
            JourneyMessage.Batch discard = BatchCodec.pack(99, List.of(CaptureRecord.seal("vol1", seq, seq,
                    RecordKind.DISCARD, 0, size, 0, PROV, null)));
            faults.arm(ApplyFaults.Op.REPLICA_WRITE, 2, "Input/output error"); // the second step's zeroing
            assertThrows(java.io.IOException.class, () -> v.apply(discard));
            assertTrue(host.status().reason().contains("applying seq " + seq + ".." + seq + " failed"),
                    host.status().reason());
            faults.clear();
            ReplicaVolume healed = host.open(hello);
            assertEquals(seq - 1, healed.lastApplied());
            assertArrayEquals(expected, Files.readAllBytes(data.resolve("vol1/replica.img")), "first step undone");
            healed.apply(discard);
            assertEquals(seq, healed.lastApplied());
            byte[] after = Files.readAllBytes(data.resolve("vol1/replica.img"));
            assertEquals(-1, java.util.Arrays.mismatch(after, new byte[after.length]), "all zeroed");
        } finally {
            host.close();
        }
    }

    private long undoBytes() throws Exception {
        try (Stream<Path> s = Files.list(data.resolve("vol1/undo"))) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    @Test
    void wholeDeviceDiscardRecordsOnlyTheAllocatedBytes() throws Exception {
        JourneyMessage.Hello hello = new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                "vol1", SIZE, 4096, "");
        List<CaptureRecord> writes = List.of(write(1, 0, 64 << 10, 1), write(2, 5L << 30, 1 << 20, 2),
                write(3, SIZE - 4096, 4096, 3));
        try (ReplicaVolume v = ReplicaVolume.open(data, hello, UndoConfig.DEFAULT)) {
            v.apply(BatchCodec.pack(1, writes));
            long before = undoBytes();
            long t0 = System.nanoTime();
            v.apply(BatchCodec.pack(2, List.of(CaptureRecord.seal("vol1", 4, 4, RecordKind.DISCARD, 0, SIZE, 0, PROV,
                    null))));
            long micros = (System.nanoTime() - t0) / 1000;
            long discardUndo = undoBytes() - before;
            System.out.printf("whole-device discard sizeBytes=%d undoBytes=%d micros=%d%n", SIZE, discardUndo, micros);
            // The allocated bytes (about 1 MiB + 68 KiB, ext4 may round to its extents) plus a few records,
            // where reading every MiB costs 16384 records (720 KiB of headers alone).
            assertTrue(discardUndo < (1 << 20) + (68 << 10) + (64 << 10), "undo bytes " + discardUndo);
            assertEquals(0, v.sizeBytes() % 4096);

            v.rollback(3, "t", (d, t) -> { });
        }
        try (VolumeFile replica = VolumeFile.openExisting(data.resolve("vol1/replica.img"))) {
            for (CaptureRecord w : writes) {
                ByteBuffer b = ByteBuffer.allocate((int) w.lengthBytes());
                replica.read(w.offsetBytes(), b);
                assertArrayEquals(w.payload(), b.array(), "restored at " + w.offsetBytes());
            }
        }
    }
}
