package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The Kafka options of {@code wedge}, {@code snoop} and {@code replay}: wrong combinations are one line, exit 2. */
class KafkaOptionsTest {
    @TempDir
    Path dir;

    private record Outcome(int exitCode, String err) {
    }

    private static Outcome run(String... args) {
        CommandLine cl = TaplineCli.newCommandLine(false);
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        return new Outcome(cl.execute(args), err.toString());
    }

    @Test
    void replayWithoutListenOrKafkaSaysWhatIsMissing() {
        Outcome o = run("replay", "--data", dir.toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --listen: missing (expected: HOST:PORT, or --kafka BROKERS --site NAME)"),
                o.err());
    }

    @Test
    void replayFromKafkaNeedsASite() {
        Outcome o = run("replay", "--data", dir.toString(), "--kafka", "127.0.0.1:9092");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --site: missing"), o.err());
    }

    @Test
    void replayFromKafkaDoesNotAlsoListen() {
        Outcome o = run("replay", "--data", dir.toString(), "--kafka", "127.0.0.1:9092", "--site", "a", "--listen",
                "127.0.0.1:0");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kafka: with --listen"), o.err());
    }

    @Test
    void aSiteNameThatIsNotAGroupNameIsRefused() {
        Outcome o = run("replay", "--data", dir.toString(), "--kafka", "127.0.0.1:9092", "--site", "dr east");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --site/--volumes: site: dr east (expected: letters, digits, . _ -)"),
                o.err());
    }

    @Test
    void wedgeInCycleModeRefusesKafkaBeforeCreatingAnything() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", dir.resolve("p.img").toString(),
                "--size", "1M", "--buffer", dir.resolve("b").toString(), "--mode", "cycles", "--kafka",
                "127.0.0.1:9092");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kafka: with --mode cycles"), o.err());
        assertFalse(Files.exists(dir.resolve("b")), "no buffer created");
    }

    @Test
    void auditWithoutDataOrKafkaSaysWhatIsMissing() {
        for (String sub : new String[] {"list", "verify"}) {
            Outcome o = run("audit", sub, "--volume", "v");
            assertEquals(2, o.exitCode(), o.err());
            assertTrue(o.err().startsWith("tapline: --data: missing"), sub + ": " + o.err());
        }
    }

    @Test
    void aBadTopicPrefixIsRefused() {
        Outcome o = run("wedge", "--nbd", "127.0.0.1:0", "--export", "v", "--volume", dir.resolve("p.img").toString(),
                "--size", "1M", "--buffer", dir.resolve("b").toString(), "--kafka", "127.0.0.1:9092",
                "--kafka-topic-prefix", "a/b");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kafka/--kafka-topic-prefix: topicPrefix: a/b"), o.err());
    }

    @Test
    void snoopRefusesKafkaWithAResyncSourceBeforeCreatingAnything() {
        Outcome o = run("snoop", "--interface", "lo", "--buffer", dir.resolve("b").toString(), "--kafka",
                "127.0.0.1:9092", "--source", "v=nbd://127.0.0.1:10809/v");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kafka: with --source (expected: --source with --remote only"), o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
        assertFalse(Files.exists(dir.resolve("b")), "no buffer created");
    }

    @Test
    void snoopRefusesABadTopicPrefix() {
        Outcome o = run("snoop", "--pcap", dir.resolve("f.pcap").toString(), "--buffer", dir.resolve("b").toString(),
                "--kafka", "127.0.0.1:9092", "--kafka-topic-prefix", "a/b");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kafka/--kafka-topic-prefix: topicPrefix: a/b"), o.err());
        assertFalse(Files.exists(dir.resolve("b")), "no buffer created");
    }

    @Test
    void liveSnoopWithKafkaRefusesAShipTimeout() {
        Outcome o = run("snoop", "--interface", "lo", "--buffer", dir.resolve("b").toString(), "--kafka",
                "127.0.0.1:9092", "--ship-timeout", "5");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --ship-timeout: only with --pcap and --remote or --kafka"), o.err());
    }

    @Test
    void importWithoutRemoteOrKafkaRefusesAShipTimeout() {
        Outcome o = run("snoop", "--pcap", dir.resolve("f.pcap").toString(), "--buffer", dir.resolve("b").toString(),
                "--ship-timeout", "5");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --ship-timeout: only with --pcap and --remote or --kafka"), o.err());
    }

    @Test
    void auditVerifyReadsKafkaOrADataDirectoryNotBoth() {
        Outcome o = run("audit", "verify", "--volume", "v", "--data", dir.toString(), "--kafka", "127.0.0.1:9092");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kafka: with --data (expected: one of them)"), o.err());
    }

    @Test
    void auditVerifyOfAReplicaHasNoTimeRange() {
        Outcome o = run("audit", "verify", "--volume", "v", "--data", dir.toString(), "--from", "2026-01-01T00:00:00Z");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --from: without --kafka"), o.err());
    }

    @Test
    void auditVerifyFromKafkaRefusesAnEmptyRange() {
        Outcome o = run("audit", "verify", "--volume", "v", "--kafka", "127.0.0.1:9092", "--from",
                "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --to: 2026-01-01T00:00:00Z (expected: at or after --from"), o.err());
    }

    @Test
    void auditExportFromKafkaNeedsAnOutFile() {
        Outcome o = run("audit", "export", "--volume", "v", "--kafka", "127.0.0.1:9092");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --out: missing (expected: the FILE --kafka exports to)"), o.err());
    }

    @Test
    void auditExportFromKafkaIsEveryRecordOfTheRange() {
        Outcome o = run("audit", "export", "--volume", "v", "--kafka", "127.0.0.1:9092", "--out",
                dir.resolve("x").toString(), "--kind", "write");
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --kind: with --kafka (expected: --kafka, --volume, --from/--to and --out"),
                o.err());
    }

    @Test
    void auditExportOfAReplicaStillNeedsAFormat() {
        Outcome o = run("audit", "export", "--volume", "v", "--data", dir.toString());
        assertEquals(2, o.exitCode(), o.err());
        assertTrue(o.err().startsWith("tapline: --format: missing (expected: csv or json)"), o.err());
    }
}
