package io.tapline.journey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchCodecTest {

    @Test
    void roundTripsRecordsUncompressedWhenCompressionDoesNotHelp() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 5, 10, 1000, false);
        JourneyMessage.Batch batch = BatchCodec.pack(3, records);
        assertEquals(Compression.NONE, batch.compression());
        assertEquals(5, batch.firstSequence());
        assertEquals(14, batch.lastSequence());
        assertEquals(10, batch.recordCount());
        assertEquals(records, BatchCodec.unpack(batch));
    }

    @Test
    void compressesWithLz4WhenItSavesAtLeastTenPercent() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 1, 8, 4096, true);
        JourneyMessage.Batch batch = BatchCodec.pack(1, records);
        assertEquals(Compression.LZ4, batch.compression());
        assertTrue(batch.body().length < batch.uncompressedLength() * 9 / 10);
        assertEquals(records, BatchCodec.unpack(batch));
    }

    @Test
    void batchCrcCoversTheUncompressedRecordBytes() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 1, 2, 64, false);
        JourneyMessage.Batch batch = BatchCodec.pack(1, records);
        ByteBuffer raw = ByteBuffer.allocate(batch.uncompressedLength());
        records.forEach(r -> RecordCodec.encode(r, raw));
        assertEquals(BatchCodec.crc32c(raw.array(), 0, raw.capacity()), batch.crc32c());
    }

    @Test
    void rejectsBatchWhoseBytesDoNotMatchItsCrc() {
        JourneyMessage.Batch batch = BatchCodec.pack(7, TestRecords.writes("vol1", 1, 2, 64, false));
        byte[] body = batch.body().clone();
        body[body.length - 1] ^= 1;
        JourneyMessage.Batch bad = new JourneyMessage.Batch(7, 1, 2, 2, Compression.NONE, body.length,
                batch.crc32c(), body);
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class, () -> BatchCodec.unpack(bad));
        assertTrue(e.getMessage().startsWith("batch crc32c: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("batch=7"), e.getMessage());
    }

    @Test
    void rejectsRecordWithFlippedByteEvenWhenBatchCrcMatches() {
        JourneyMessage.Batch batch = BatchCodec.pack(7, TestRecords.writes("vol1", 1, 2, 64, false));
        byte[] body = batch.body().clone();
        body[body.length - 1] ^= 1;
        JourneyMessage.Batch bad = new JourneyMessage.Batch(7, 1, 2, 2, Compression.NONE, body.length,
                BatchCodec.crc32c(body, 0, body.length), body);
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class, () -> BatchCodec.unpack(bad));
        assertTrue(e.getMessage().contains("record #1 (expected seq 2): crc32c: "), e.getMessage());
    }

    @Test
    void rejectsRecordCountThatDisagrees() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 1, 2, 64, false);
        JourneyMessage.Batch batch = BatchCodec.pack(1, records);
        byte[] first = RecordCodec.encode(records.get(0));
        JourneyMessage.Batch bad = new JourneyMessage.Batch(1, 1, 2, 2, Compression.NONE, first.length,
                BatchCodec.crc32c(first, 0, first.length), first);
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class, () -> BatchCodec.unpack(bad));
        assertTrue(e.getMessage().contains("records: 1 (expected: recordCount 2)"), e.getMessage());
        assertEquals(2, batch.recordCount());
    }

    @Test
    void rejectsDamagedLz4Block() {
        JourneyMessage.Batch batch = BatchCodec.pack(1, TestRecords.writes("vol1", 1, 8, 4096, true));
        byte[] cut = java.util.Arrays.copyOf(batch.body(), batch.body().length / 2);
        JourneyMessage.Batch bad = new JourneyMessage.Batch(1, 1, 8, 8, Compression.LZ4, batch.uncompressedLength(),
                batch.crc32c(), cut);
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class, () -> BatchCodec.unpack(bad));
        assertTrue(e.getMessage().startsWith("batch=1 "), e.getMessage());
    }

    @Test
    void packRefusesSequenceHoles() {
        List<CaptureRecord> records = List.of(TestRecords.write("vol1", 1, 0, new byte[1]),
                TestRecords.write("vol1", 3, 0, new byte[1]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchCodec.pack(1, records));
        assertEquals("records[1].sequence: 3 (expected: 2, dense)", e.getMessage());
    }

    @Test
    void zstdRoundTripsAndIsSmallerThanLz4OnText() {
        List<CaptureRecord> records = textRecords(64);
        JourneyMessage.Batch lz4 = BatchCodec.pack(1, records, CompressionChoice.LZ4);
        JourneyMessage.Batch zstd = BatchCodec.pack(2, records, CompressionChoice.zstd(3));
        assertEquals(Compression.LZ4, lz4.compression());
        assertEquals(Compression.ZSTD, zstd.compression());
        assertEquals(lz4.crc32c(), zstd.crc32c(), "the CRC covers the uncompressed bytes either way");
        assertTrue(zstd.body().length < lz4.body().length, zstd.body().length + " >= " + lz4.body().length);
        assertEquals(records, BatchCodec.unpack(zstd));
    }

    @Test
    void zstdIsNotUsedOnIncompressibleBytes() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 1, 100, 4096, false);
        assertEquals(Compression.NONE, BatchCodec.pack(1, records, CompressionChoice.zstd(3)).compression());
    }

    @Test
    void rejectsDamagedZstdFrame() {
        JourneyMessage.Batch batch = BatchCodec.pack(1, textRecords(8), CompressionChoice.zstd(1));
        byte[] cut = java.util.Arrays.copyOf(batch.body(), batch.body().length / 2);
        JourneyMessage.Batch bad = new JourneyMessage.Batch(1, 1, 8, 8, Compression.ZSTD, batch.uncompressedLength(),
                batch.crc32c(), cut);
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class, () -> BatchCodec.unpack(bad));
        assertTrue(e.getMessage().startsWith("batch=1 "), e.getMessage()); // a damaged frame or a short one
    }

    @Test
    void zstdFrameOfAnotherLengthIsRejected() {
        JourneyMessage.Batch batch = BatchCodec.pack(1, textRecords(8), CompressionChoice.zstd(1));
        JourneyMessage.Batch bad = new JourneyMessage.Batch(1, 1, 8, 8, Compression.ZSTD,
                batch.uncompressedLength() + 1, batch.crc32c(), batch.body());
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class, () -> BatchCodec.unpack(bad));
        assertTrue(e.getMessage().startsWith("batch=1 "), e.getMessage());
    }

    @Test
    void compressionChoiceRefusesWhatNoCodecHas() {
        assertThrows(IllegalArgumentException.class, () -> new CompressionChoice(Compression.NONE, 0));
        assertThrows(IllegalArgumentException.class, () -> CompressionChoice.zstd(0));
        assertThrows(IllegalArgumentException.class, () -> new CompressionChoice(Compression.LZ4, 3));
        assertEquals("zstd-3", CompressionChoice.zstd(3).toString());
    }

    /** Writes of English-like text: words drawn from a small vocabulary, as logs and documents are. */
    private static List<CaptureRecord> textRecords(int count) {
        String[] words = {"the", "replica", "volume", "write", "capture", "buffer", "sequence", "applied", "of",
            "and", "link", "journey", "host", "record", "a", "to", "in", "is", "status", "synced"};
        java.util.Random rnd = new java.util.Random(5);
        java.util.List<CaptureRecord> records = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder b = new StringBuilder();
            while (b.length() < 4096) {
                b.append(words[rnd.nextInt(words.length)]).append(rnd.nextInt(9) == 0 ? ".\n" : " ");
            }
            byte[] data = java.util.Arrays.copyOf(b.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    4096);
            records.add(TestRecords.write("vol1", i + 1, i * 4096L, data));
        }
        return records;
    }
}
