package io.tapline.tools;

import io.tapline.kafka.KafkaLinkConfig;
import io.tapline.kafka.KafkaLogReader;
import io.tapline.log.buffer.SegmentExport;
import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * {@code tapline audit export --kafka B --volume V [--from/--to] --out FILE}: the volume's records
 * as Kafka keeps them, written to FILE as the capture buffer encodes them ({@link SegmentExport}:
 * a segment header, then each record with its CRC-32C, payloads included), deduplicated and dense.
 * A damaged record or a hole in the range fails the export (exit 1, one line) and leaves FILE as
 * it was; {@code audit verify --kafka} lists every problem.
 */
final class KafkaAuditExport {
    private KafkaAuditExport() {
    }

    static int run(String brokers, String prefix, String volume, Instant from, Instant to, Path out)
            throws IOException {
        KafkaLinkConfig link;
        try {
            link = KafkaLinkConfig.of(brokers).withTopicPrefix(prefix);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--kafka/--kafka-topic-prefix: " + e.getMessage(), 2);
        }
        SegmentExport[] export = {null};
        long[] first = {0};
        try {
            KafkaLogReader.forEach(link, volume, from, to, e -> {
                if (export[0] == null) {
                    export[0] = SegmentExport.create(out, e.record().sequence(), volume);
                    first[0] = e.record().sequence();
                }
                try {
                    export[0].append(e.record());
                } catch (IllegalArgumentException ex) {
                    throw new CliFailure("export: topic " + link.topic(volume) + " offset " + e.kafkaOffset() + ": "
                            + ex.getMessage() + "; " + out + " not written (audit verify --kafka lists the holes)");
                }
            });
            if (export[0] == null) {
                throw new CliFailure("export: no record of volume " + volume + " on topic " + link.topic(volume)
                        + " in the range (expected: at least one; " + out + " not written)");
            }
            export[0].commit();
        } finally {
            if (export[0] != null) {
                export[0].close();
            }
        }
        System.out.println("exported volume " + volume + " sequences " + first[0] + ".." + export[0].lastSequence()
                + " from topic "
                + link.topic(volume) + " to " + out + " (capture buffer segment format, docs/formats.md)");
        return 0;
    }
}
