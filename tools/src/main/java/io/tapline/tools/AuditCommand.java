package io.tapline.tools;

import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.audit.AuditVerifier;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.JsonArrayOut;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tapline audit}: list, export and verify a volume's audit log on the replayer host. Every
 * subcommand opens the files read-only; nothing here can change a volume.
 */
@Command(name = "audit", mixinStandardHelpOptions = true,
        description = "Lists, exports and verifies a volume's hash-chained audit log (read-only).",
        subcommands = {AuditCommand.ListEntries.class, AuditCommand.Export.class, AuditCommand.Verify.class})
final class AuditCommand implements Runnable {

    @Override
    public void run() {
        throw new CliFailure("audit: a subcommand is required (list, export, verify)", 2);
    }

    /** Options shared by the subcommands. */
    static class Volume {
        @Option(names = "--data", paramLabel = "DIR",
                description = "The replayer's data directory, or a source's buffer directory for the source's own log"
                        + " (required, except with --kafka).")
        Path data;

        @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
        String volume;

        Path dir() {
            if (data == null) {
                throw new CliFailure("--data: missing (expected: the replayer's data directory DIR)", 2);
            }
            Path d = data.resolve(volume);
            if (!Files.isDirectory(d)) {
                throw new CliFailure("volume: " + volume + " (expected: a volume directory in " + data + ")");
            }
            return d;
        }
    }

    /** Filters of list and export. */
    static class Filter extends Volume {
        @Option(names = "--from", paramLabel = "ISO", description = "Entries logged at or after this time.")
        Instant from;

        @Option(names = "--to", paramLabel = "ISO", description = "Entries logged at or before this time.")
        Instant to;

        @Option(names = "--kind", split = ",", paramLabel = "KIND",
                description = "Entry types (record, gap, mark, rollback, resume, recovery, config, verify, promote, demote, refused, degraded, healed) or record kinds (write, write_zeroes, discard, flush).")
        List<String> kinds = new ArrayList<>();

        @Option(names = "--offset-range", paramLabel = "A:B", description = "Entries whose range overlaps [A, B).")
        String offsetRange;

        /** Set by {@link #select}: the log is damaged, the entries listed stop before the damage. */
        boolean damaged;

        /**
         * The filters as one test, built (and a bad filter refused, exit 2) before anything is printed:
         * a JSON array already begun would stand on stdout as an empty answer.
         */
        Predicate<AuditEntry> filter() {
            Set<String> wanted = kinds.stream().map(k -> k.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
            for (String k : wanted) {
                boolean known = java.util.Arrays.stream(io.tapline.log.audit.AuditType.values())
                        .anyMatch(t -> t.name().equalsIgnoreCase(k))
                        || java.util.Arrays.stream(io.tapline.log.RecordKind.values()).anyMatch(r -> r.name().equalsIgnoreCase(k));
                if (!known) {
                    throw new CliFailure("--kind: " + k + " (expected: an entry type or a record kind, see --help)", 2);
                }
            }
            long[] range = parseRange();
            return e -> {
                Instant at = Instant.ofEpochSecond(0, e.loggedNanos());
                return (from == null || !at.isBefore(from)) && (to == null || !at.isAfter(to))
                        && (wanted.isEmpty() || wanted.contains(e.type().name().toLowerCase(Locale.ROOT))
                                || wanted.contains(kindName(e).toLowerCase(Locale.ROOT)))
                        && overlaps(range, e.offsetBytes(), e.lengthBytes());
            };
        }

        /** Whether [offset, offset + length) overlaps {@code range} ({@link #parseRange}); any range when null, none when empty. */
        static boolean overlaps(long[] range, long offset, long length) {
            return range == null || (length != 0 && offset < range[1] && offset + length > range[0]);
        }

        /** Hands each entry {@code filter} keeps to {@code each}, in order; reads the log once, keeps none. */
        void select(Predicate<AuditEntry> filter, Consumer<AuditEntry> each) throws IOException {
            damaged = AuditReading.of(dir(), volume, "only the N entries before the damage are listed", e -> {
                if (filter.test(e)) {
                    each.accept(e);
                }
            }).damaged();
        }

        long[] parseRange() {
            if (offsetRange == null) {
                return null;
            }
            String[] p = offsetRange.split(":");
            try {
                long a = Long.parseLong(p[0]);
                long b = Long.parseLong(p[1]);
                if (p.length != 2 || a < 0 || b <= a) {
                    throw new NumberFormatException();
                }
                return new long[] {a, b};
            } catch (RuntimeException e) {
                throw new CliFailure("--offset-range: " + offsetRange + " (expected: A:B with 0 <= A < B)", 2);
            }
        }
    }

    static String kindName(AuditEntry e) {
        return e.recordKind() == 0 ? "" : RecordKind.fromWireValue(e.recordKind()).name();
    }

    static Map<String, Object> toMap(AuditEntry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("index", e.index());
        m.put("logged", Instant.ofEpochSecond(0, e.loggedNanos()).toString());
        m.put("type", e.type().name());
        m.put("sequence", e.sequence());
        if (e.type() == AuditType.ROLLBACK || e.type() == AuditType.RECOVERY) {
            m.put("toSequence", e.captureTimeNanos());
        } else {
            m.put("captured", e.captureTimeNanos() == 0 ? "" : Instant.ofEpochSecond(0, e.captureTimeNanos()).toString());
        }
        m.put("kind", kindName(e));
        m.put("offset", e.offsetBytes());
        m.put("length", e.lengthBytes());
        m.put("opcode", e.opcode());
        m.put("payloadSha256", e.type() == AuditType.RECORD && "WRITE".equals(kindName(e)) ? e.digestHex() : "");
        m.put("who", e.who());
        m.put("detail", e.detail());
        m.put("hash", e.hashHex());
        return m;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists audit entries, optionally filtered.")
    static final class ListEntries extends Filter implements Callable<Integer> {
        @Option(names = "--json", description = "One JSON array.")
        boolean json;

        @Option(names = "--kafka", paramLabel = "BROKERS",
                description = "List the records of the volume's topic on Kafka (what the source shipped, within the"
                        + " topic's retention) instead of a replica's audit log; --from/--to by capture time.")
        String kafka;

        @Option(names = "--kafka-topic-prefix", paramLabel = "PREFIX", defaultValue = "tapline.",
                description = "With --kafka: the volume's topic is PREFIX<volume> (default: ${DEFAULT-VALUE}).")
        String kafkaTopicPrefix;

        @Override
        public Integer call() throws IOException {
            if (kafka != null) {
                if (data != null) {
                    throw new CliFailure("--kafka: with --data (expected: one of them)", 2);
                }
                io.tapline.tools.cli.CliLogging.quietKafka();
                return KafkaAuditList.print(kafka, kafkaTopicPrefix, volume, this, json);
            }
            Predicate<AuditEntry> filter = filter();
            if (json) {
                try (JsonArrayOut out = new JsonArrayOut(System.out)) {
                    select(filter, e -> out.add(toMap(e)));
                }
                return damaged ? 1 : 0;
            }
            select(filter, e -> System.out.printf("%6d %s %-8s seq=%d %s off=%d len=%d %s %s%n", e.index(),
                    Instant.ofEpochSecond(0, e.loggedNanos()), e.type(), e.sequence(), kindName(e), e.offsetBytes(),
                    e.lengthBytes(), e.who(), e.detail()));
            return damaged ? 1 : 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, description = "Exports audit entries as CSV or JSON on"
            + " stdout, or with --kafka the volume's records on Kafka to a file (--out).")
    static final class Export extends Filter implements Callable<Integer> {
        @Option(names = "--format", paramLabel = "csv|json", description = "csv or json (required without --kafka).")
        String format;

        @Option(names = "--kafka", paramLabel = "BROKERS",
                description = "Export the records of the volume's topic on Kafka (payloads included, as the capture"
                        + " buffer encodes them: its segment format) to --out; --from/--to by capture time.")
        String kafka;

        @Option(names = "--kafka-topic-prefix", paramLabel = "PREFIX", defaultValue = "tapline.",
                description = "With --kafka: the volume's topic is PREFIX<volume> (default: ${DEFAULT-VALUE}).")
        String kafkaTopicPrefix;

        @Option(names = "--out", paramLabel = "FILE", description = "With --kafka: the file to write (replaced whole).")
        Path out;

        @Override
        public Integer call() throws IOException {
            if (kafka != null) {
                if (data != null || format != null || !kinds.isEmpty() || offsetRange != null) {
                    throw new CliFailure((data != null ? "--data" : format != null ? "--format"
                            : !kinds.isEmpty() ? "--kind" : "--offset-range") + ": with --kafka (expected: --kafka,"
                            + " --volume, --from/--to and --out; the export is every record of the range, dense)", 2);
                }
                if (out == null) {
                    throw new CliFailure("--out: missing (expected: the FILE --kafka exports to)", 2);
                }
                io.tapline.tools.cli.CliLogging.quietKafka();
                return KafkaAuditExport.run(kafka, kafkaTopicPrefix, volume, from, to, out);
            }
            if (out != null) {
                throw new CliFailure("--out: without --kafka (expected: a replica's entries go to stdout, --format)", 2);
            }
            if (format == null) {
                throw new CliFailure("--format: missing (expected: csv or json)", 2);
            }
            Predicate<AuditEntry> filter = filter();
            switch (format.toLowerCase(Locale.ROOT)) {
                case "json" -> {
                    try (JsonArrayOut out = new JsonArrayOut(System.out)) {
                        select(filter, e -> out.add(toMap(e)));
                    }
                }
                case "csv" -> {
                    System.out.println("index,logged,type,sequence,captured_or_to,kind,offset,length,opcode,payload_sha256,who,detail,hash");
                    select(filter, e -> System.out.println(toMap(e).values().stream().map(AuditCommand::csv)
                            .collect(Collectors.joining(","))));
                }
                default -> throw new CliFailure("--format: " + format + " (expected: csv or json)", 2);
            }
            return damaged ? 1 : 0;
        }
    }

    static String csv(Object o) {
        String s = String.valueOf(o);
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Verifies the hash chain (or, with --kafka, the records on Kafka); exit 0 if intact, else 1"
                    + " naming the first bad entry (with --kafka, one line per problem).")
    static final class Verify extends Volume implements Callable<Integer> {
        @Option(names = "--json", description = "Machine-readable result.")
        boolean json;

        @Option(names = "--kafka", paramLabel = "BROKERS",
                description = "Verify the records of the volume's topic on Kafka instead of a replica's audit log: each"
                        + " record's CRC-32C, dense sequences, and (without --from) that none was lost to retention.")
        String kafka;

        @Option(names = "--kafka-topic-prefix", paramLabel = "PREFIX", defaultValue = "tapline.",
                description = "With --kafka: the volume's topic is PREFIX<volume> (default: ${DEFAULT-VALUE}).")
        String kafkaTopicPrefix;

        @Option(names = "--from", paramLabel = "ISO",
                description = "With --kafka: start at the first record Kafka stamped at or after this time.")
        Instant from;

        @Option(names = "--to", paramLabel = "ISO",
                description = "With --kafka: end before the first record captured after this time.")
        Instant to;

        @Override
        public Integer call() throws IOException {
            if (kafka != null) {
                if (data != null) {
                    throw new CliFailure("--kafka: with --data (expected: one of them)", 2);
                }
                io.tapline.tools.cli.CliLogging.quietKafka();
                return KafkaAuditVerify.run(kafka, kafkaTopicPrefix, volume, from, to, json);
            }
            if (from != null || to != null) {
                throw new CliFailure((from != null ? "--from" : "--to") + ": without --kafka (expected: a replica's"
                        + " audit log is verified whole, its hash chain has no partial check)", 2);
            }
            AuditVerifier.Result r = AuditVerifier.verify(dir());
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("intact", r.intact());
                m.put("entries", r.entries());
                m.put("headEntries", r.headEntries());
                m.put("unconfirmedEntries", r.unconfirmedEntries());
                m.put("headHash", hex(r.lastHash()));
                m.put("problem", r.problem());
                System.out.println(Json.write(m));
                return r.intact() ? 0 : 1;
            }
            if (!r.intact()) {
                throw new CliFailure("audit log of volume " + volume + " is NOT intact: " + r.problem());
            }
            System.out.println("audit log of volume " + volume + " intact: " + r.entries() + " entries, head hash "
                    + hex(r.lastHash()));
            if (r.unconfirmedEntries() > 0) {
                System.out.println("unconfirmed: the last " + r.unconfirmedEntries() + " entries come after the head's"
                        + " count of " + r.headEntries() + " (written after the last head update: a replayer still"
                        + " running, or a crash before it; the head cannot show whether entries after them were removed)");
            }
            return 0;
        }

        private static String hex(byte[] b) {
            StringBuilder sb = new StringBuilder();
            for (byte x : b) {
                sb.append(String.format("%02x", x));
            }
            return sb.toString();
        }
    }
}
