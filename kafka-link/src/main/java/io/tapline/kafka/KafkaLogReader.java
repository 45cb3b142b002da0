package io.tapline.kafka;

import io.tapline.log.CaptureRecord;
import java.io.IOException;
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
 * time range, each decoded and its CRC-32C checked, in sequence order, each sequence once (a topic
 * may hold a record twice after a producer resent it, and after a Kafka outage a record behind
 * later ones: {@link SequenceOrderedScan}); a sequence not on the topic at all is reported as a
 * {@link Hole}. No consumer group: nothing is committed, no replica site is disturbed.
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

    /** How long an auditor's scan may take. */
    private static final Duration SCAN_TIMEOUT = Duration.ofMinutes(10);

    private KafkaLogReader() {
    }

    /**
     * Sequences {@code firstSequence..lastSequence} are not on the topic: none came after sequence
     * {@code firstSequence - 1}; {@code resumeOffset} is the Kafka offset where the read went on,
     * at sequence {@code lastSequence + 1}. {@code tapline audit verify --kafka} reports the same hole.
     */
    public record Hole(long firstSequence, long lastSequence, long resumeOffset) {
        /** One line for an operator. */
        @Override
        public String toString() {
            return "hole: sequences " + firstSequence + ".." + lastSequence + " are not on the topic (read went on"
                    + " at offset " + resumeOffset + ", sequence " + (lastSequence + 1) + ")";
        }
    }

    /** What {@link #read} found: the records in sequence order, and the holes crossed (none when dense). */
    public record Listing(List<Entry> entries, List<Hole> holes) {
    }

    /**
     * The records of {@code volumeId} captured in [{@code from}, {@code to}] (either may be null:
     * unbounded), in sequence order, each once, in one list with their payloads: for tests and
     * short ranges; a reader of a topic's whole retention uses {@link #forEach}.
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read, or a record is damaged
     */
    public static Listing read(KafkaLinkConfig link, String volumeId, Instant from, Instant to) throws IOException {
        List<Entry> out = new ArrayList<>();
        List<Hole> holes = forEach(link, volumeId, from, to, out::add);
        return new Listing(out, holes);
    }

    /** Gets each entry of {@link #forEach}. */
    public interface Entries {
        void accept(Entry e) throws IOException;
    }

    /**
     * The records of {@code volumeId} captured in [{@code from}, {@code to}] (either may be null:
     * unbounded), in sequence order, each once, given to {@code entries} as they are read (nothing
     * kept). The topic may hold a sequence more than once, and after a Kafka outage a sequence
     * after ones written later (see {@link KafkaShipper}); {@link SequenceOrderedScan} puts them back
     * in order. Returns the holes crossed: sequences that are not on the topic at all.
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read, or a record is damaged
     */
    public static List<Hole> forEach(KafkaLinkConfig link, String volumeId, Instant from, Instant to,
            Entries entries) throws IOException {
        try (Partition p = Partition.open(link, volumeId, from)) {
            return SequenceOrderedScan.run((offset, visitor) -> p.read(offset, SCAN_TIMEOUT, visitor),
                    p.span.startOffset(), (r, rec) -> {
                Instant captured = Instant.ofEpochSecond(0, rec.captureTimeNanos());
                if ((from == null || !captured.isBefore(from)) && (to == null || !captured.isAfter(to))) {
                    entries.accept(new Entry(r.offset(), r.timestamp(), rec));
                }
            });
        }
    }

    /** Where a scan ran on the topic's partition. */
    record Span(long logStartOffset, long startOffset, long endOffset) {
    }

    /**
     * Reads the volume's topic from the first record Kafka stamped at or after {@code from} (or
     * its log start when null) to the end it had when the scan began, without a consumer group.
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read
     */
    static Span scan(KafkaLinkConfig link, String volumeId, Instant from, SequenceOrderedScan.Visitor records) throws IOException {
        try (Partition p = Partition.open(link, volumeId, from)) {
            p.read(p.span.startOffset(), SCAN_TIMEOUT, records);
            return p.span;
        }
    }

    /**
     * The last record of the volume's topic, or null when it holds none (never written, or every
     * record deleted by retention), read without a consumer group within {@code timeout}.
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read in time
     */
    static ConsumerRecord<byte[], byte[]> lastRecord(KafkaLinkConfig link, String volumeId, Duration timeout)
            throws IOException {
        try (Partition p = Partition.open(link, volumeId, null)) {
            if (p.span.endOffset() <= p.span.logStartOffset()) {
                return null;
            }
            List<ConsumerRecord<byte[], byte[]>> last = new ArrayList<>(1);
            p.read(p.span.endOffset() - 1, timeout, r -> last.add(r));
            return last.isEmpty() ? null : last.get(last.size() - 1);
        }
    }

    /** The volume topic's partition, read by one consumer without a group, with its end fixed when opened. */
    private static final class Partition implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final TopicPartition tp;
        private final String where;
        final Span span;

        private Partition(KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp, String where, Span span) {
            this.consumer = consumer;
            this.tp = tp;
            this.where = where;
            this.span = span;
        }

        static Partition open(KafkaLinkConfig link, String volumeId, Instant from) throws IOException {
            String topic = link.topic(volumeId);
            String where = "topic " + topic + " on " + link.bootstrapServers();
            Map<String, Object> props = link.consumerProperties("tapline-audit-" + volumeId, "unused");
            props.remove(ConsumerConfig.GROUP_ID_CONFIG);
            KafkaConsumer<byte[], byte[]> consumer = null;
            try {
                consumer = new KafkaConsumer<>(props);
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
                Partition p = new Partition(consumer, tp, where, new Span(logStart, start, end));
                consumer = null;
                return p;
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                throw new IOException(where + ": no broker answered within " + link.requestTimeout().multipliedBy(2)
                        .toSeconds() + " s (is Kafka running at " + link.bootstrapServers() + "? --kafka names its"
                        + " bootstrap servers)", e);
            } catch (KafkaException e) {
                throw new IOException(where + ": " + e.getMessage(), e);
            } finally {
                if (consumer != null) {
                    consumer.close();
                }
            }
        }

        /**
         * Gives {@code visitor} each record from {@code fromOffset} to the span's end, in offset
         * order, within {@code timeout}.
         */
        void read(long fromOffset, Duration timeout, SequenceOrderedScan.Visitor visitor) throws IOException {
            long end = span.endOffset();
            try {
                consumer.seek(tp, fromOffset);
                long deadline = System.nanoTime() + timeout.toNanos();
                while (consumer.position(tp) < end) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException(where + ": not read to offset " + end + " within " + timeout.toSeconds()
                                + " s");
                    }
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                        if (r.offset() >= end || !visitor.visit(r)) {
                            return;
                        }
                    }
                }
            } catch (KafkaException e) {
                throw new IOException(where + ": " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
