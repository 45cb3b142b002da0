package io.tapline.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** {@link SequenceOrderedScan}: what {@code audit list/export --kafka} give, fed a partition's records directly. */
class SequenceOrderedScanTest {
    private static final VolumeIdentity VOL = new VolumeIdentity("v", 1 << 20, 4096, "src");
    private static final long BUFFER = 0xb0ffe7L;

    @Test
    void denseRecordsComeOnceEachResendsDropped() throws IOException {
        Scan s = scan(0, 1, 2, 3, 2, 3, 4);
        assertEquals(List.of(1L, 2L, 3L, 4L), s.sequences);
        assertEquals(List.of(0L, 1L, 2L, 5L), s.offsets);
        assertEquals(List.of(), s.holes);
    }

    @Test
    void recordsAheadOfAnOutagesGapAreTakenWhenTheyComeAgain() throws IOException {
        // A producer's batch 3..4 failed during an outage, its 5..6 was written; the next session resent 3..7.
        Scan s = scan(0, 1, 2, 5, 6, 3, 4, 5, 6, 7);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L), s.sequences);
        assertEquals(List.of(0L, 1L, 4L, 5L, 6L, 7L, 8L), s.offsets);
        assertEquals(List.of(), s.holes);
    }

    @Test
    void twoOutagesInARowStillGiveEachSequenceOnceInOrder() throws IOException {
        Scan s = scan(0, 1, 4, 5, 2, 3, 6, 8, 4, 5, 6, 7, 8, 9);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), s.sequences);
        assertEquals(List.of(), s.holes);
    }

    @Test
    void aSequenceThatNeverComesIsAHoleAndTheReadGoesOnAfterIt() throws IOException {
        // 3..4 never on the topic; 5 first appears at offset 3, is resent at offset 5.
        Scan s = scan(0, 1, 2, 5, 6, 5, 6, 7);
        assertEquals(List.of(1L, 2L, 5L, 6L, 7L), s.sequences);
        assertEquals(List.of(0L, 1L, 2L, 3L, 6L), s.offsets);
        assertEquals(List.of(new KafkaLogReader.Hole(3, 4, 2)), s.holes);
    }

    @Test
    void twoHolesAreBothNamed() throws IOException {
        Scan s = scan(0, 1, 3, 4, 7, 8);
        assertEquals(List.of(1L, 3L, 4L, 7L, 8L), s.sequences);
        assertEquals(List.of(new KafkaLogReader.Hole(2, 2, 1), new KafkaLogReader.Hole(5, 6, 3)), s.holes);
    }

    @Test
    void aReadFromTheMiddleStartsAtItsFirstRecord() throws IOException {
        Scan s = scan(2, 1, 2, 3, 4, 3, 4, 5);
        assertEquals(List.of(3L, 4L, 5L), s.sequences);
        assertEquals(List.of(), s.holes);
    }

    /** The records taken from a partition holding {@code sequences} at offsets 0.., read from {@code start}. */
    private static Scan scan(long start, long... sequences) throws IOException {
        List<ConsumerRecord<byte[], byte[]>> partition = new ArrayList<>();
        for (long seq : sequences) {
            byte[] data = new byte[512];
            java.util.Arrays.fill(data, (byte) seq);
            CaptureRecord r = CaptureRecord.seal("v", seq, seq, RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, data);
            ProducerRecord<byte[], byte[]> p = KafkaRecordFormat.toKafka("t.v", r, VOL, BUFFER);
            partition.add(new ConsumerRecord<>("t.v", 0, partition.size(), 0L, TimestampType.CREATE_TIME,
                    p.key().length, p.value().length, p.key(), p.value(), p.headers(), Optional.empty()));
        }
        Scan s = new Scan();
        s.holes.addAll(SequenceOrderedScan.run((from, visitor) -> {
            for (int i = (int) from; i < partition.size(); i++) {
                if (!visitor.visit(partition.get(i))) {
                    return;
                }
            }
        }, start, (r, rec) -> {
            s.sequences.add(rec.sequence());
            s.offsets.add(r.offset());
        }));
        return s;
    }

    private static final class Scan {
        final List<Long> sequences = new ArrayList<>();
        final List<Long> offsets = new ArrayList<>();
        final List<KafkaLogReader.Hole> holes = new ArrayList<>();
    }
}
