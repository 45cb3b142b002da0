package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A point-in-time image of a large sparse replica: its holes are skipped, not read, and the image
 * is still the replica's exact bytes at the target, data at the edges of holes included.
 */
class PointInTimeImageTest {
    private static final long SIZE = 1L << 30;
    private static final UndoConfig UNDO = new UndoConfig(16 << 20, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;
    @TempDir
    Path scratch;

    @Test
    void aSparseReplicasImageHasEveryByteAtTheTargetAndReportsItsProgress() throws Exception {
        // Data at the very start, just before and after 1 MiB boundaries, mid-volume, and in the last block.
        long[] offsets = {0, (1L << 20) - 4096, 1L << 20, 300L << 20, (700L << 20) + 512, SIZE - 4096};
        List<CaptureRecord> records = new ArrayList<>();
        long seq = 1;
        for (int round = 0; round < 2; round++) {
            for (long off : offsets) {
                byte[] p = new byte[4096];
                java.util.Arrays.fill(p, (byte) (seq * 7 + 1));
                records.add(CaptureRecord.seal("vol1", seq, seq, RecordKind.WRITE, off, p.length, 0,
                        Provenance.INTERNAL, p));
                seq++;
            }
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records));
        }
        List<long[]> calls = new ArrayList<>();
        Path out = scratch.resolve("at6.img");
        PointInTimeImage.Image made = PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 6, "", out,
                (done, total) -> calls.add(new long[] {done, total}));
        assertEquals(6, made.sequence());
        assertTrue(made.consistent(), made.toString());
        assertArrayEquals(digest(expected(records, 6)), digestOf(out), "the image equals the volume at seq 6");
        assertEquals(SIZE, calls.get(calls.size() - 1)[0], "progress ends at the whole volume");
        for (int i = 1; i < calls.size(); i++) {
            assertTrue(calls.get(i)[0] >= calls.get(i - 1)[0], "progress never goes back");
        }
        assertTrue(calls.size() < 64, "holes skipped, not read 1 MiB at a time: " + calls.size() + " progress calls");

        long[] replayed = {0, 0};
        PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 3, "", scratch.resolve("at3.img"),
                new PointInTimeImage.Progress() {
                    @Override
                    public void copied(long done, long total) {
                    }

                    @Override
                    public void replayed(long done, long total) {
                        replayed[0] = done;
                        replayed[1] = total;
                    }
                });
        assertEquals(9, replayed[1], "the undo records above seq 3 are counted");
        assertEquals(9, replayed[0], "and each is reported");

        Path now = scratch.resolve("at12.img");
        PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 12, "", now, PointInTimeImage.Progress.NONE);
        assertArrayEquals(digestOf(data.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE)), digestOf(now),
                "at the applied sequence the image is the replica");
    }

    @Test
    void aRefusedImageTouchesNoFileAndNeverWritesOverTheVolumesOwn() throws Exception {
        List<CaptureRecord> records = new ArrayList<>();
        for (long seq = 1; seq <= 4; seq++) {
            byte[] p = new byte[4096];
            java.util.Arrays.fill(p, (byte) seq);
            records.add(CaptureRecord.seal("vol1", seq, seq, RecordKind.WRITE, seq << 20, p.length, 0,
                    Provenance.INTERNAL, p));
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records));
        }
        Path replica = data.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE);
        byte[] before = digestOf(replica);
        RefusedException own = assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1",
                AdminRequest.TO_SEQUENCE, 2, "", replica, PointInTimeImage.Progress.NONE));
        assertTrue(own.getMessage().startsWith("--out: "), own.getMessage());
        Path linked = scratch.resolve("link-to-audit.log");
        java.nio.file.Files.createLink(linked, data.resolve("vol1").resolve("audit").resolve("audit.log"));
        long auditSize = java.nio.file.Files.size(linked);
        assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 2,
                "", linked, PointInTimeImage.Progress.NONE));
        assertEquals(auditSize, java.nio.file.Files.size(linked), "a hard link to the audit log is not written");
        assertArrayEquals(before, digestOf(replica), "the replica untouched");
        // A new file in a capture buffer's volume folder is refused too (it was written beside the segments).
        Path bufferVolume = java.nio.file.Files.createDirectories(scratch.resolve("buffer").resolve("vol1"));
        java.nio.file.Files.write(bufferVolume.resolve(io.tapline.log.buffer.CaptureBuffer.STATE_FILE), new byte[0]);
        RefusedException inBuffer = assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1",
                AdminRequest.TO_SEQUENCE, 2, "", bufferVolume.resolve("new.img"), PointInTimeImage.Progress.NONE));
        assertTrue(inBuffer.getMessage().contains("is in a Tapline buffer or data directory"), inBuffer.getMessage());
        assertTrue(!java.nio.file.Files.exists(bufferVolume.resolve("new.img")));
        io.tapline.log.DurableFiles.deleteTree(scratch.resolve("buffer"));

        Path held = scratch.resolve("held-by-another-program.img");
        java.nio.file.Files.writeString(held, "a wedge's primary");
        Process holder = new ProcessBuilder("bash", "-c", "exec 3<>\"$0\"; echo open; exec sleep 30", held.toString())
                .redirectErrorStream(true).start();
        try {
            assertEquals("open", new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream()))
                    .readLine());
            RefusedException inUse = assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1",
                    AdminRequest.TO_SEQUENCE, 2, "", held, PointInTimeImage.Progress.NONE));
            assertTrue(inUse.getMessage().contains("is open in process " + holder.pid()), inUse.getMessage());
            assertEquals("a wedge's primary", java.nio.file.Files.readString(held));
        } finally {
            holder.destroyForcibly().waitFor();
        }
        java.nio.file.Files.delete(held);

        Path kept = scratch.resolve("keep.txt");
        java.nio.file.Files.writeString(kept, "important");
        assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 99,
                "", kept, PointInTimeImage.Progress.NONE));
        assertEquals("important", java.nio.file.Files.readString(kept), "a refused target leaves --out as it was");
        try (var files = java.nio.file.Files.list(scratch)) {
            assertEquals(2, files.count(), "no partial file left beside it");
        }
    }

    /** The volume at {@code upTo} as (offset, payload) pairs applied over zeroes, as a digest. */
    private static byte[][] expected(List<CaptureRecord> records, long upTo) {
        List<byte[]> parts = new ArrayList<>();
        for (CaptureRecord r : records) {
            if (r.sequence() <= upTo) {
                parts.add(ByteBuffer.allocate(8).putLong(r.offsetBytes()).array());
                parts.add(r.payload());
            }
        }
        return parts.toArray(byte[][]::new);
    }

    private static byte[] digest(byte[][] writes) throws Exception {
        Path file = Path.of(System.getProperty("java.io.tmpdir")).resolve("pit-expected-" + System.nanoTime());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE)) {
            ch.write(ByteBuffer.allocate(1), SIZE - 1);
            for (int i = 0; i < writes.length; i += 2) {
                ch.write(ByteBuffer.wrap(writes[i + 1]), ByteBuffer.wrap(writes[i]).getLong());
            }
            return digestOf(ch);
        }
    }

    private static byte[] digestOf(Path file) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return digestOf(ch);
        }
    }

    private static byte[] digestOf(FileChannel ch) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer b = ByteBuffer.allocateDirect(8 << 20);
        long pos = 0;
        assertEquals(SIZE, ch.size(), "size");
        while (pos < SIZE) {
            b.clear();
            int n = ch.read(b, pos);
            b.flip();
            md.update(b);
            pos += n;
        }
        return md.digest();
    }

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096, "");
    }
}
