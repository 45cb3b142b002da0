package io.tapline.kafka;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a volume's command log where it lives, on Kafka, for auditors: the records captured in a
 * time range, each decoded and its CRC-32C checked, each sequence once (a topic may hold a record
 * twice after a producer resent it; the first copy is kept). No consumer group: nothing is
 * committed, no replica site is disturbed.
 *
 * <p>What it proves: what the source shipped and Kafka kept (within the topic's retention), in
 * sequence order, each record intact. What it does not: what a replica applied; that is each
 * replayer's audit log with its hash chain ({@code tapline audit verify --data}).
 *
 * <p>Time range: by capture time. The read starts at the first record Kafka stamped at or after
 * {@code from} (a record is sent after its capture, so none captured later is skipped) and runs to
 * the end of the topic as it was when the read began. Thread-safe: each call uses its own consumer.
 */
public final class KafkaLogReader {
    /** One record of the log, where Kafka keeps it. */
    public record Entry(long kafkaOffset, long kafkaTimestampMillis, CaptureRecord record) {
    }

    private KafkaLogReader() {
    }

    /**
     * The records of {@code volumeId} captured in [{@code from}, {@code to}] (either may be null:
     * unbounded), in sequence order.
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read, or a record is damaged
     */
    public static List<Entry> read(KafkaLinkConfig link, String volumeId, Instant from, Instant to)
            throws IOException {
        List<Entry> out = new ArrayList<>();
        forEach(link, volumeId, from, to, out::add);
        return out;
    }

    /** Gets each entry of {@link #forEach}. */
    public interface Entries {
        void accept(Entry e) throws IOException;
    }

    /**
     * The records of {@code volumeId} captured in [{@code from}, {@code to}] (either may be null:
     * unbounded), in sequence order, each given to {@code entries} as it is read (nothing kept).
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read, or a record is damaged
     */
    public static void forEach(KafkaLinkConfig link, String volumeId, Instant from, Instant to, Entries entries)
            throws IOException {
        String topic = link.topic(volumeId);
        long[] lastSeq = {0};
        scan(link, volumeId, from, r -> {
            CaptureRecord rec;
            try {
                rec = RecordCodec.decode(ByteBuffer.wrap(r.value()));
            } catch (RecordFormatException e) {
                throw new IOException("topic " + topic + " offset " + r.offset() + ": " + e.getMessage(), e);
            }
            if (rec.sequence() <= lastSeq[0]) {
                return true; // sent twice: the first copy counts
            }
            lastSeq[0] = rec.sequence();
            Instant captured = Instant.ofEpochSecond(0, rec.captureTimeNanos());
            if ((from != null && captured.isBefore(from)) || (to != null && captured.isAfter(to))) {
                return true;
            }
            entries.accept(new Entry(r.offset(), r.timestamp(), rec));
            return true;
        });
    }

    /** Where a scan ran on the topic's partition. */
    record Span(long logStartOffset, long startOffset, long endOffset) {
    }

    /** Gets each raw Kafka record of a scan, in offset order; false stops the scan. */
    interface RawRecords {
        boolean accept(ConsumerRecord<byte[], byte[]> r) throws IOException;
    }

    /**
     * Reads the volume's topic from the first record Kafka stamped at or after {@code from} (or
     * its log start when null) to the end it had when the scan began, without a consumer group.
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read
     */
    static Span scan(KafkaLinkConfig link, String volumeId, Instant from, RawRecords records) throws IOException {
        String topic = link.topic(volumeId);
        Map<String, Object> props = link.consumerProperties("tapline-audit-" + volumeId, "unused");
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
            List<PartitionInfo> parts = consumer.partitionsFor(topic, link.requestTimeout().multipliedBy(2));
            if (parts == null || parts.isEmpty()) {
                throw new IOException("topic " + topic + ": not found on " + link.bootstrapServers()
                        + " (expected: the topic of volume " + volumeId + ")");
            }
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long logStart = consumer.beginningOffsets(List.of(tp)).get(tp);
            long start = logStart;
            if (from != null) {
                OffsetAndTimestamp at = consumer.offsetsForTimes(Map.of(tp, from.toEpochMilli())).get(tp);
                start = at == null ? end : at.offset();
            }
            consumer.seek(tp, start);
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (consumer.position(tp) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("topic " + topic + ": not read to offset " + end + " within 10 minutes");
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.offset() >= end || !records.accept(r)) {
                        return new Span(logStart, start, end);
                    }
                }
            }
            return new Span(logStart, start, end);
        } catch (KafkaException e) {
            throw new IOException("topic " + topic + " on " + link.bootstrapServers() + ": " + e.getMessage(), e);
        }
    }
}
