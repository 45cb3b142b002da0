package io.tapline.kafka;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordFormatException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The checks of {@link KafkaLogVerifier}, fed one raw Kafka record at a time in offset order (no
 * Kafka needed, so unit tests feed it directly): each value decodes and its CRC-32C matches, its
 * {@code tapline.seq} header agrees with the value, sequences are dense (a producer's resend of a
 * sequence already seen is counted, not a problem; sequences skipped and written later, as a
 * producer that failed during an outage leaves them before the shipper's resend, fill their gap,
 * as {@link ReplicaFeed} waits for them: only a gap still open at the end of the scan is a hole;
 * a sequence 1 unlike the first one read, by its
 * CRC-32C, is another capture history, a recreated buffer, on the same topic), and, when the scan began at the topic's start,
 * the first sequence is 1 (anything else is a retention gap: the records before it are gone).
 * Each problem is one line naming the Kafka offset(s) and sequence(s).
 *
 * <p>Not thread-safe: one scan's own instance.
 */
final class KafkaLogCheck {
    /** At most this many problem lines are kept (the count goes on). */
    static final int MAX_PROBLEM_LINES = 100;

    private final String topic;
    private final boolean fromLogStart;
    private final Instant to;
    private final List<String> problems = new ArrayList<>();
    private long problemCount;
    private long records;
    private long duplicates;
    private long firstSequence;
    private long lastSequence;
    private long lastOffset = -1;
    /**
     * CRC-32C of sequence 1 when the scan began with it, else null: tells a resent 1 from another
     * history's 1 (null: any later 1 is another history's).
     */
    private Integer firstRecordCrc;
    /** The capture buffer id of the records read last ({@code tapline.buffer}), 0 before any carried one. */
    private long bufferId;
    /** Sequences skipped so far, by first missing sequence: {last missing, offset before, offset after}. */
    private final java.util.TreeMap<Long, long[]> gaps = new java.util.TreeMap<>();

    /**
     * @param fromLogStart whether the scan began at the partition's log start (then sequence 1 must be first)
     * @param to           stop at the first record captured after this time, or null
     */
    KafkaLogCheck(String topic, boolean fromLogStart, Instant to) {
        this.topic = topic;
        this.fromLogStart = fromLogStart;
        this.to = to;
    }

    /** Checks the next record; false once a record captured after {@code to} ends the range. */
    boolean accept(ConsumerRecord<byte[], byte[]> r) {
        CaptureRecord rec;
        try {
            rec = RecordCodec.decode(ByteBuffer.wrap(r.value() == null ? new byte[0] : r.value()));
        } catch (RecordFormatException e) {
            problem("offset " + r.offset() + ": damaged record (" + e.getMessage() + ")");
            lastOffset = r.offset();
            return true;
        }
        if (to != null && Instant.ofEpochSecond(0, rec.captureTimeNanos()).isAfter(to)) {
            return false;
        }
        checkHeader(r, rec);
        checkBuffer(r);
        long seq = rec.sequence();
        if (lastSequence == 0) {
            firstSequence = seq;
            if (seq == 1) {
                firstRecordCrc = rec.crc32c();
            }
            if (fromLogStart && seq > 1) {
                problem("offset " + r.offset() + ": first sequence " + seq + " (expected: 1); sequences 1.."
                        + (seq - 1) + " are not on the topic (retention deleted them, or they were never shipped)");
            }
        } else if (seq <= lastSequence) {
            if (seq == 1 && (firstRecordCrc == null || rec.crc32c() != firstRecordCrc)) {
                problem("offset " + r.offset() + ": sequence 1 after sequence " + lastSequence + " (expected: "
                        + (lastSequence + 1) + "; another capture history, a recreated buffer, writes this topic)");
                firstRecordCrc = rec.crc32c(); // the new history's resends are duplicates again
                lastSequence = seq;
                lastOffset = r.offset();
                records++;
                return true;
            }
            if (!fillsAGap(seq)) {
                duplicates++;
            } else {
                records++;
            }
            lastOffset = r.offset();
            return true;
        } else if (seq > lastSequence + 1) {
            gaps.put(lastSequence + 1, new long[] {seq - 1, lastOffset, r.offset()});
        }
        records++;
        lastSequence = seq;
        lastOffset = r.offset();
        return true;
    }

    /** Takes {@code seq} out of the gap holding it; false when no gap holds it (a resend of one seen). */
    private boolean fillsAGap(long seq) {
        java.util.Map.Entry<Long, long[]> e = gaps.floorEntry(seq);
        if (e == null || seq > e.getValue()[0]) {
            return false;
        }
        long[] g = gaps.remove(e.getKey());
        if (e.getKey() < seq) {
            gaps.put(e.getKey(), new long[] {seq - 1, g[1], g[2]});
        }
        if (seq < g[0]) {
            gaps.put(seq + 1, new long[] {g[0], g[1], g[2]});
        }
        return true;
    }

    private void checkHeader(ConsumerRecord<byte[], byte[]> r, CaptureRecord rec) {
        try {
            long header = KafkaRecordFormat.sequence(r);
            if (header != rec.sequence()) {
                problem("offset " + r.offset() + ": header tapline.seq " + header + " (expected: the value's sequence "
                        + rec.sequence() + ")");
            }
        } catch (IllegalArgumentException e) {
            problem("offset " + r.offset() + ": " + e.getMessage());
        }
    }

    /**
     * Two capture buffers' records on one topic (a shipper before the topic check, or a topic written
     * by hand): each change of the {@code tapline.buffer} header is one problem, whatever the
     * sequences say (stop 58's P D8: a new buffer's history spliced into the old one's and read as one).
     */
    private void checkBuffer(ConsumerRecord<byte[], byte[]> r) {
        long id;
        try {
            id = KafkaRecordFormat.bufferId(r);
        } catch (IllegalArgumentException e) {
            problem("offset " + r.offset() + ": " + e.getMessage());
            return;
        }
        if (id == 0) {
            return; // written before records carried their buffer: judged by sequence alone
        }
        if (bufferId != 0 && id != bufferId) {
            problem("offset " + r.offset() + ": a record of capture buffer " + Long.toHexString(id) + " after buffer "
                    + Long.toHexString(bufferId) + "'s (expected: one buffer's history per topic; another capture"
                    + " buffer writes this topic)");
        }
        bufferId = id;
    }

    private void problem(String line) {
        problemCount++;
        if (problems.size() < MAX_PROBLEM_LINES) {
            problems.add("topic " + topic + " " + line);
        }
    }

    /** What the records fed so far show (a gap still open is a hole); the span is the scan's. Call once. */
    KafkaLogVerifier.Result result(KafkaLogReader.Span span) {
        for (java.util.Map.Entry<Long, long[]> e : gaps.entrySet()) {
            long[] g = e.getValue();
            problem("offsets " + g[1] + ".." + g[2] + ": hole, sequences " + e.getKey() + ".." + g[0]
                    + " missing (expected: dense sequences)");
        }
        gaps.clear();
        if (records == 0 && problemCount == 0 && fromLogStart && span.logStartOffset() > 0) {
            problem("log start offset " + span.logStartOffset() + ": no record left (expected: records from"
                    + " sequence 1; retention deleted them all)");
        }
        return new KafkaLogVerifier.Result(topic, span.logStartOffset(), span.startOffset(), span.endOffset(), records,
                duplicates, firstSequence, lastSequence, problemCount, List.copyOf(problems));
    }
}
