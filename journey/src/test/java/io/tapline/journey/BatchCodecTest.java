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
}
