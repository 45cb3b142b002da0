package io.tapline.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Whether a capture buffer may ship to a volume's topic: a topic holds one buffer's history.
 * Replicas apply by sequence ("the applied sequence is the truth"), so records of a second buffer
 * whose sequences start again from 1 would be skipped everywhere as already applied, and every
 * replica would silently diverge from the primary. The shipper therefore looks at the topic's
 * last record before it sends anything, and refuses the topic when that record
 *
 * <ul>
 *   <li>carries another buffer's id ({@link KafkaRecordFormat#BUFFER_HEADER}), or
 *   <li>carries a sequence beyond this buffer's last: no record of this buffer can be there (a
 *       record without the id header, written before records carried it, is judged by this alone).
 * </ul>
 *
 * <p>Example: buffer A shipped seq 1..900 to {@code tapline.vol1}; the wedge is restarted on a new
 * empty buffer B (its seeding copy is seq 1..40): the last record is A's seq 900, so B's shipper
 * refuses and its records stay in B. Stateless.
 */
final class TopicOwnership {
    private TopicOwnership() {
    }

    /**
     * Why the buffer {@code bufferId}, whose last sequence is {@code lastSequence}, must not ship
     * to {@code topic} whose last record is {@code last} (null: the topic holds none); null when
     * it may.
     */
    static String refusal(String topic, ConsumerRecord<byte[], byte[]> last, long bufferId, long lastSequence) {
        if (last == null) {
            return null;
        }
        long seq = KafkaRecordFormat.sequence(last);
        long writer = KafkaRecordFormat.bufferId(last);
        String wayOut = ": shipping would mix two capture buffers' histories, which replicas skip as applied; ship"
                + " this buffer to a new --kafka-topic-prefix or delete the topic, and replay it at each site into a"
                + " new --data folder; the buffer keeps its records meanwhile";
        if (writer != 0 && writer != bufferId) {
            return "kafka topic " + topic + " holds another capture buffer's records (offset " + last.offset()
                    + ", seq " + seq + ", buffer " + Long.toHexString(writer) + "; expected: buffer "
                    + Long.toHexString(bufferId) + ")" + wayOut;
        }
        if (seq > lastSequence) {
            return "kafka topic " + topic + " holds seq " + seq + " at offset " + last.offset() + " (expected: at most"
                    + " this buffer's last seq " + lastSequence + ")" + wayOut;
        }
        return null;
    }
}
