package io.tapline.tools;

import io.tapline.kafka.KafkaLinkConfig;
import io.tapline.kafka.KafkaLogVerifier;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code tapline audit verify --kafka}: checks the volume's command log as Kafka keeps it
 * ({@link KafkaLogVerifier}: every record's CRC-32C, dense sequences, retention gaps). Prints one
 * line per problem, then exits 1 with one line; 0 with a summary when intact. It proves what the
 * topic holds, not what a replica applied (that is {@code audit verify --data}, the hash chain).
 */
final class KafkaAuditVerify {
    private KafkaAuditVerify() {
    }

    static int run(String brokers, String prefix, String volume, Instant from, Instant to, boolean json)
            throws IOException {
        KafkaLinkConfig link;
        try {
            link = KafkaLinkConfig.of(brokers).withTopicPrefix(prefix);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--kafka/--kafka-topic-prefix: " + e.getMessage(), 2);
        }
        if (from != null && to != null && to.isBefore(from)) {
            throw new CliFailure("--to: " + to + " (expected: at or after --from " + from + ")", 2);
        }
        KafkaLogVerifier.Result r = KafkaLogVerifier.verify(link, volume, from, to);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("intact", r.intact());
            m.put("topic", r.topic());
            m.put("logStartOffset", r.logStartOffset());
            m.put("startOffset", r.startOffset());
            m.put("endOffset", r.endOffset());
            m.put("records", r.records());
            m.put("duplicates", r.duplicates());
            m.put("firstSequence", r.firstSequence());
            m.put("lastSequence", r.lastSequence());
            m.put("problemCount", r.problemCount());
            m.put("problems", r.problems());
            System.out.println(Json.write(m));
            return r.intact() ? 0 : 1;
        }
        r.problems().forEach(System.out::println);
        if (!r.intact()) {
            throw new CliFailure("kafka log of volume " + volume + " is NOT intact: " + r.problemCount() + " problem(s)"
                    + (r.problemCount() > r.problems().size() ? ", the first " + r.problems().size() + " listed" : "")
                    + " (topic " + r.topic() + ")");
        }
        System.out.println("kafka log of volume " + volume + " intact: " + r.records() + " records, sequences "
                + r.firstSequence() + ".." + r.lastSequence() + " dense, each CRC-32C valid, " + r.duplicates()
                + " resent copies (topic " + r.topic() + ", offsets " + r.startOffset() + ".." + r.endOffset() + ")");
        return 0;
    }
}
