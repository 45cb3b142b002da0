package io.tapline.log.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.RecordReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tapline buffer discard: a span of unacknowledged records ships as GAPs, its chunks tracked first. */
class DiscardedSpansTest {
    private static final BufferConfig CONFIG = new BufferConfig(1 << 20, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    private static CaptureBuffer open(Path dir) throws IOException {
        return CaptureBuffer.open(dir, "vol1", CONFIG);
    }

    private static List<CaptureRecord> read(CaptureBuffer b, long from) throws Exception {
        List<CaptureRecord> out = new ArrayList<>();
        try (RecordReader r = b.openReader(from)) {
            while (r.position() <= b.lastSequence()) {
                out.add(r.next(1000));
            }
        }
        return out;
    }

    /** As the shipper reads: the encoded bytes, decoded here. */
    private static List<CaptureRecord> readEncoded(CaptureBuffer b, long from) throws Exception {
        List<CaptureRecord> out = new ArrayList<>();
        try (RecordReader r = b.openReader(from)) {
            while (r.position() <= b.lastSequence()) {
                out.add(io.tapline.log.RecordCodec.decode(r.nextEncoded(1000)));
            }
        }
        return out;
    }

    @Test
    void aDiscardedSpanReadsAsGapsOfTheSameRangesTrackedAndKeptAcrossAReopen() throws Exception {
        try (CaptureBuffer b = open(dir)) {
            for (int i = 0; i < 8; i++) {
                b.append(RecordKind.WRITE, (long) i << 20, 4096, 0, TestBuffers.WEDGE, new byte[4096]);
            }
            b.append(RecordKind.MARK, 0, 0, 0, TestBuffers.WEDGE, "m".getBytes(StandardCharsets.UTF_8));
            b.sync();
            b.registerRemote("r");
            b.acknowledge("r", 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.discard(3, 5, "ops"));
            assertTrue(e.getMessage().startsWith("--from-seq: 3 (expected: > 3"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> b.discard(5, 10, "ops"));
            assertTrue(e.getMessage().startsWith("--to-seq: 10 (expected: <= 9"), e.getMessage());
            assertTrue(b.discard(5, 9, "ops@host").contains("records 5..9 discarded (4 data records, 16384 bytes)"));
            assertEquals(List.of(new long[] {4L << 20, 4L << 20}).get(0)[0],
                    ChangedChunks.readRanges(dir, 10).get(0)[0]);
            assertEquals(4L << 20, ChangedChunks.readRanges(dir, 10).get(0)[1], "chunks 4..7 tracked");
        }
        try (CaptureBuffer b = open(dir)) {
            List<CaptureRecord> records = read(b, 4);
            assertEquals(records, readEncoded(b, 4), "the shipper's path reads the same GAPs");
            assertEquals(RecordKind.WRITE, records.get(0).kind());
            for (int i = 1; i <= 4; i++) {
                CaptureRecord gap = records.get(i);
                assertEquals(RecordKind.GAP, gap.kind(), gap.toString());
                assertEquals(4 + i, gap.sequence());
                assertEquals((long) (3 + i) << 20, gap.offsetBytes());
                assertEquals(4096, gap.lengthBytes());
                assertTrue(gap.text().startsWith("discarded by ops@host at "), gap.text());
                assertEquals("ops@host", gap.provenance().initiator());
            }
            assertEquals(RecordKind.MARK, records.get(5).kind(), "marks pass unchanged");
        }
    }

    @Test
    void aDamagedSpanFileIsRefusedWithTheRepair() throws Exception {
        try (CaptureBuffer b = open(dir)) {
            b.append(RecordKind.WRITE, 0, 4096, 0, TestBuffers.WEDGE, new byte[4096]);
            b.sync();
            b.discard(1, 1, "ops");
        }
        Path file = dir.resolve(DiscardedSpans.FILE);
        byte[] bytes = Files.readAllBytes(file);
        bytes[0] = (byte) '7';
        Files.write(file, bytes);
        IOException e = assertThrows(IOException.class, () -> open(dir));
        assertTrue(e.getMessage().contains("discarded spans " + file + ": crc32c"), e.getMessage());
        assertTrue(e.getMessage().endsWith("delete it to ship the discarded spans after all"), e.getMessage());
    }
}
