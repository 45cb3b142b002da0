package io.tapline.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** {@link KafkaLogCheck}: what {@code audit verify --kafka} reports, fed Kafka records directly. */
class KafkaLogCheckTest {
    private static final VolumeIdentity VOL = new VolumeIdentity("v", 1 << 20, 4096, "src");
    private static final long BUFFER = 0xb0ffe7L;
    /** The buffer id the next {@link #records} carry. */
    private long writingBuffer = BUFFER;
    private long nextOffset;
    private long captureOffsetNanos;

    @Test
    void denseSequencesFromOneAreIntact() {
        KafkaLogVerifier.Result r = check(true, null, records(1, 2, 3, 4));
        assertTrue(r.intact(), r.problems().toString());
        assertEquals(4, r.records());
        assertEquals(1, r.firstSequence());
        assertEquals(4, r.lastSequence());
    }

    /** Dense sequences from two buffers are still two histories (stop 58's P D8: read as one). */
    @Test
    void recordsOfAnotherCaptureBufferAreAProblemEvenWithDenseSequences() {
        List<ConsumerRecord<byte[], byte[]>> in = records(1, 2, 3);
        writingBuffer = 0xc0ffeeL;
        in.addAll(records(4, 5));
        KafkaLogVerifier.Result r = check(true, null, in);
        assertEquals(List.of("topic t.v offset 3: a record of capture buffer c0ffee after buffer b0ffe7's (expected: one"
                + " buffer's history per topic; another capture buffer writes this topic)"), r.problems());
    }

    @Test
    void aResentSequenceIsCountedNotAProblem() {
        KafkaLogVerifier.Result r = check(true, null, records(1, 2, 3, 2, 3, 4));
        assertTrue(r.intact(), r.problems().toString());
        assertEquals(4, r.records());
        assertEquals(2, r.duplicates());
    }

    @Test
    void aHoleIsOneLineNamingTheOffsetsAndSequences() {
        KafkaLogVerifier.Result r = check(true, null, records(1, 2, 6, 7));
        assertFalse(r.intact());
        assertEquals(List.of("topic t.v offsets 1..2: hole, sequences 3..5 missing (expected: dense sequences)"),
                r.problems());
    }

    @Test
    void sequencesWrittenAfterLaterOnesFillTheirGap() {
        // A producer's batch 3..4 failed during an outage, its 5..6 was written; the next session resent 3..6.
        KafkaLogVerifier.Result r = check(true, null, records(1, 2, 5, 6, 3, 4, 5, 6, 7));
        assertTrue(r.intact(), r.problems().toString());
        assertEquals(7, r.records());
        assertEquals(2, r.duplicates());
        assertEquals(7, r.lastSequence());
    }

    @Test
    void aGapFilledInPartIsAHoleForWhatStaysMissing() {
        KafkaLogVerifier.Result r = check(true, null, records(1, 2, 7, 4, 8));
        assertEquals(List.of("topic t.v offsets 1..2: hole, sequences 3..3 missing (expected: dense sequences)",
                "topic t.v offsets 1..2: hole, sequences 5..6 missing (expected: dense sequences)"), r.problems());
    }

    @Test
    void aTopicThatDoesNotStartAtOneLostRecordsToRetention() {
        KafkaLogVerifier.Result r = check(true, null, records(5, 6));
        assertEquals(1, r.problemCount());
        assertTrue(r.problems().get(0).startsWith("topic t.v offset 0: first sequence 5 (expected: 1); sequences 1..4"
                + " are not on the topic"), r.problems().toString());
    }

    @Test
    void aRangeFromATimeMayStartAnywhere() {
        assertTrue(check(false, null, records(5, 6)).intact());
    }

    @Test
    void aDamagedRecordIsReportedAndTheScanGoesOn() {
        List<ConsumerRecord<byte[], byte[]>> in = records(1, 2, 3);
        in.get(1).value()[40] ^= 1; // a byte inside the CRC-covered body
        KafkaLogVerifier.Result r = check(true, null, in);
        assertEquals(2, r.problemCount(), r.problems().toString());
        assertTrue(r.problems().get(0).startsWith("topic t.v offset 1: damaged record ("), r.problems().toString());
        assertTrue(r.problems().get(1).contains("hole, sequences 2..2 missing"), r.problems().toString());
    }

    @Test
    void aRecreatedBufferWritingTheSameTopicIsNamed() {
        List<ConsumerRecord<byte[], byte[]>> in = records(1, 2);
        captureOffsetNanos = 1_000;
        in.addAll(records(1, 2)); // the same sequences, captured later: another history
        KafkaLogVerifier.Result r = check(true, null, in);
        assertEquals(1, r.problemCount());
        assertTrue(r.problems().get(0).startsWith("topic t.v offset 2: sequence 1 after sequence 2"), r.problems().toString());
    }

    @Test
    void aResentFirstRecordIsNotAnotherHistory() {
        KafkaLogVerifier.Result r = check(true, null, records(1, 2, 1, 2, 3));
        assertTrue(r.intact(), r.problems().toString());
        assertEquals(2, r.duplicates());
        assertEquals(3, r.lastSequence());
    }

    @Test
    void aFirstSequenceAfterOthersIsAnotherHistoryWhenTheScanDidNotStartWithIt() {
        KafkaLogVerifier.Result r = check(false, null, records(5, 6, 1));
        assertEquals(1, r.problemCount());
        assertTrue(r.problems().get(0).startsWith("topic t.v offset 2: sequence 1 after sequence 6"), r.problems().toString());
    }

    @Test
    void theRangeEndsAtTheFirstRecordCapturedAfterTo() {
        KafkaLogVerifier.Result r = check(true, Instant.ofEpochSecond(0, 2), records(1, 2, 3, 4));
        assertTrue(r.intact());
        assertEquals(2, r.lastSequence());
    }

    @Test
    void anEmptiedTopicIsARetentionGap() {
        KafkaLogCheck c = new KafkaLogCheck("t.v", true, null);
        KafkaLogVerifier.Result r = c.result(new KafkaLogReader.Span(10, 10, 10));
        assertEquals(1, r.problemCount());
        assertTrue(r.problems().get(0).startsWith("topic t.v log start offset 10: no record left"), r.problems().toString());
    }

    private KafkaLogVerifier.Result check(boolean fromLogStart, Instant to, List<ConsumerRecord<byte[], byte[]>> in) {
        KafkaLogCheck c = new KafkaLogCheck("t.v", fromLogStart, to);
        for (ConsumerRecord<byte[], byte[]> r : in) {
            if (!c.accept(r)) {
                break;
            }
        }
        return c.result(new KafkaLogReader.Span(0, 0, nextOffset));
    }

    /** Records of these sequences, each captured at its sequence in nanoseconds since the epoch. */
    private List<ConsumerRecord<byte[], byte[]>> records(long... sequences) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (long seq : sequences) {
            byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte) seq);
            CaptureRecord r = CaptureRecord.seal("v", seq, seq + captureOffsetNanos, RecordKind.WRITE, (seq % 16) * 4096, 4096, 0,
                    Provenance.INTERNAL, data);
            ProducerRecord<byte[], byte[]> p = KafkaRecordFormat.toKafka("t.v", r, VOL, writingBuffer);
            out.add(new ConsumerRecord<>("t.v", 0, nextOffset++, 0L, TimestampType.CREATE_TIME, p.key().length,
                    p.value().length, p.key(), p.value(), p.headers(), Optional.empty()));
        }
        return out;
    }
}
