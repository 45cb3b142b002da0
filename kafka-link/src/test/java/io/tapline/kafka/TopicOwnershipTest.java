package io.tapline.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class TopicOwnershipTest {
    private static final VolumeIdentity VOL = new VolumeIdentity("v", 1 << 20, 4096, "src");
    private static final long A = 0xaaL;
    private static final long B = 0xbbL;

    @Test
    void anEmptyTopicIsAnyBuffers() {
        assertNull(TopicOwnership.refusal("t.v", null, B, 0));
    }

    @Test
    void theSameBufferResumesItsTopic() {
        assertNull(TopicOwnership.refusal("t.v", last(A, 900), A, 900));
        assertNull(TopicOwnership.refusal("t.v", last(A, 700), A, 900), "records sent after the topic's last");
    }

    @Test
    void anotherBuffersTopicIsRefusedWhateverItsSequence() {
        String why = TopicOwnership.refusal("t.v", last(A, 10), B, 40);
        assertEquals("kafka topic t.v holds another capture buffer's records (offset 41, seq 10, buffer aa;"
                + " expected: buffer bb): shipping would mix two capture buffers' histories, which replicas skip as"
                + " applied; ship this buffer to a new --kafka-topic-prefix or delete the topic, and replay it at each"
                + " site into a new --data folder; the buffer keeps its records meanwhile", why);
    }

    @Test
    void aRecordWithoutABufferIdIsJudgedBySequence() {
        assertNull(TopicOwnership.refusal("t.v", last(0, 40), B, 40));
        assertEquals("kafka topic t.v holds seq 900 at offset 41 (expected: at most this buffer's last seq 40)",
                first(TopicOwnership.refusal("t.v", last(0, 900), B, 40)));
    }

    @Test
    void aSequenceBeyondTheBuffersLastIsRefusedEvenUnderItsOwnId() {
        // The buffer lost records Kafka holds (its files restored from a backup): the numbering went back.
        assertEquals("kafka topic t.v holds seq 900 at offset 41 (expected: at most this buffer's last seq 40)",
                first(TopicOwnership.refusal("t.v", last(A, 900), A, 40)));
    }

    private static String first(String why) {
        return why.substring(0, why.indexOf("): ") + 1);
    }

    /** The topic's last record, at offset 41: {@code seq} of buffer {@code bufferId} (0: without the header). */
    private static ConsumerRecord<byte[], byte[]> last(long bufferId, long seq) {
        CaptureRecord r = CaptureRecord.seal("v", seq, 0, RecordKind.WRITE, 0, 4096, 0, Provenance.INTERNAL,
                new byte[4096]);
        ProducerRecord<byte[], byte[]> p = KafkaRecordFormat.toKafka("t.v", r, VOL, bufferId);
        if (bufferId == 0) {
            p.headers().remove(KafkaRecordFormat.BUFFER_HEADER);
        }
        return new ConsumerRecord<>("t.v", 0, 41, 0L, TimestampType.CREATE_TIME, p.key().length, p.value().length,
                p.key(), p.value(), p.headers(), Optional.empty());
    }
}
