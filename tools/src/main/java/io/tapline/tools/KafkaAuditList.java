package io.tapline.tools;

import io.tapline.kafka.KafkaLinkConfig;
import io.tapline.kafka.KafkaLogReader;
import io.tapline.log.CaptureRecord;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.JsonArrayOut;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code tapline audit list --kafka}: the volume's command log as Kafka keeps it, with the same
 * filters as a replica's audit log (capture time, record kind, offset range). Each record's CRC-32C
 * is checked as it is read; a WRITE's payload is shown by its SHA-256, as in the audit log. Rows
 * come in sequence order, each sequence once, also after a Kafka outage left resent records behind
 * later ones; sequences not on the topic at all are each named on stderr as a hole (exit 1).
 */
final class KafkaAuditList {
    private KafkaAuditList() {
    }

    static int print(String brokers, String prefix, String volume, AuditCommand.Filter filter, boolean json)
            throws IOException {
        KafkaLinkConfig link;
        try {
            link = KafkaLinkConfig.of(brokers).withTopicPrefix(prefix);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--kafka/--kafka-topic-prefix: " + e.getMessage(), 2);
        }
        Set<String> wanted = filter.kinds.stream().map(k -> k.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
        long[] range = filter.parseRange();
        List<KafkaLogReader.Hole> holes;
        if (json) {
            try (JsonArrayOut out = new JsonArrayOut(System.out)) {
                holes = KafkaLogReader.forEach(link, volume, filter.from, filter.to, e -> {
                    if (selected(e.record(), wanted, range)) {
                        out.add(row(e));
                    }
                });
            }
        } else {
            holes = KafkaLogReader.forEach(link, volume, filter.from, filter.to, e -> {
                if (selected(e.record(), wanted, range)) {
                    Map<String, Object> m = row(e);
                    System.out.printf("%8d %s seq=%d %s off=%d len=%d %s%n", m.get("kafkaOffset"), m.get("captured"),
                            m.get("sequence"), m.get("kind"), m.get("offset"), m.get("length"), m.get("payloadSha256"));
                }
            });
        }
        for (KafkaLogReader.Hole hole : holes) {
            System.err.println("topic " + link.topic(volume) + " " + hole);
        }
        return holes.isEmpty() ? 0 : 1;
    }

    /** Whether the filters keep {@code r}: one of the kinds asked for (any when none), overlapping the range. */
    private static boolean selected(CaptureRecord r, Set<String> wanted, long[] range) {
        return (wanted.isEmpty() || wanted.contains(r.kind().name().toLowerCase(Locale.ROOT)))
                && AuditCommand.Filter.overlaps(range, r.offsetBytes(), r.lengthBytes());
    }

    private static Map<String, Object> row(KafkaLogReader.Entry e) {
        CaptureRecord r = e.record();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kafkaOffset", e.kafkaOffset());
        m.put("sent", Instant.ofEpochMilli(e.kafkaTimestampMillis()).toString());
        m.put("sequence", r.sequence());
        m.put("captured", Instant.ofEpochSecond(0, r.captureTimeNanos()).toString());
        m.put("kind", r.kind().name());
        m.put("offset", r.offsetBytes());
        m.put("length", r.lengthBytes());
        m.put("payloadSha256", r.kind() == io.tapline.log.RecordKind.WRITE ? sha256(r.payload()) : "");
        m.put("crc32c", String.format("%08x", r.crc32c()));
        return m;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }
}
