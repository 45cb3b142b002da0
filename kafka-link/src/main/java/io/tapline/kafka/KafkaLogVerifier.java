package io.tapline.kafka;

import java.io.IOException;
import java.time.Instant;
import java.util.List;

/**
 * Verifies a volume's command log where it lives, on Kafka ({@code tapline audit verify --kafka}):
 * every record's CRC-32C, dense sequences over the range, and (read from the topic's start) that
 * nothing before the first record was lost to retention. The checks are {@link KafkaLogCheck}'s.
 *
 * <p>What it proves: the topic holds, intact and without a hole, what the source shipped in the
 * range. What it does not: what a replica applied (each replayer's hash-chained audit log,
 * {@code tapline audit verify --data}), nor that nobody rewrote the topic: a CRC is not a
 * signature, and Kafka keeps no chain across records.
 *
 * <p>Thread-safe: each call uses its own consumer (no group: nothing committed).
 */
public final class KafkaLogVerifier {
    /**
     * The outcome of a verification.
     *
     * @param logStartOffset the partition's first offset (above 0: retention deleted records)
     * @param startOffset    where the scan began ({@code --from}, or the log start)
     * @param endOffset      the partition's end when the scan began
     * @param records        distinct sequences read
     * @param duplicates     records of a sequence read before (a producer's resend; not a problem)
     * @param problemCount   every problem found; {@code problems} keeps the first
     *                       {@value KafkaLogCheck#MAX_PROBLEM_LINES} lines
     */
    public record Result(String topic, long logStartOffset, long startOffset, long endOffset, long records,
            long duplicates, long firstSequence, long lastSequence, long problemCount, List<String> problems) {

        /** Whether no record was damaged and no sequence is missing. */
        public boolean intact() {
            return problemCount == 0;
        }
    }

    private KafkaLogVerifier() {
    }

    /**
     * Verifies the records of {@code volumeId}'s topic from the first Kafka stamped at or after
     * {@code from} (null: the topic's start) up to the first captured after {@code to} (null: the
     * end of the topic when the scan began).
     *
     * @throws IOException when the topic does not exist or Kafka cannot be read
     */
    public static Result verify(KafkaLinkConfig link, String volumeId, Instant from, Instant to) throws IOException {
        KafkaLogCheck check = new KafkaLogCheck(link.topic(volumeId), from == null, to);
        KafkaLogReader.Span span = KafkaLogReader.scan(link, volumeId, from, check::accept);
        return check.result(span);
    }
}
