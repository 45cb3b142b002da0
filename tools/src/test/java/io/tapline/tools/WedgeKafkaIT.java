package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.kafka.KafkaCluster;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command log on Kafka with real processes and a real NBD client: qemu-io writes through a
 * {@code tapline wedge --kafka}; two {@code tapline replay --kafka} sites consume the volume's topic
 * from three in-process KRaft brokers (replication factor 3, min.insync.replicas 2). Both replicas
 * must equal the primary (md5) after a replayer is killed with SIGKILL mid-stream and restarted
 * while a broker is down, and after all brokers were stopped while the host wrote.
 */
class WedgeKafkaIT {
    private static final Duration PEER = Duration.ofMinutes(2);
    private static final Duration SYNC = Duration.ofSeconds(120);
    private static final long SIZE = 256L << 20; // room for the ext4 file operations (up to 96 MiB of files)
    private static final String EXPORT = "vol1";

    @TempDir
    Path dir;
    private final List<TaplineProcess> processes = new ArrayList<>();

    @Test
    void qemuAndExt4WritesReachTwoSitesThroughKafkaThroughAReplayerKillABrokerStopAndAKafkaOutage() throws Exception {
        try (KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka"))) {
            Path primary = dir.resolve("primary.img");
            Path buffer = dir.resolve("buffer");
            String uri = startWedge(kafka);
            TaplineProcess east = startSite(kafka, "east", 1);
            startSite(kafka, "west", 1);
            try {
                // 1. qemu-io through the wedge, to Kafka, to two sites.
                Peers.run(PEER, qemuWrites(uri, 300, 1)).orFail("qemu-io");
                awaitReplicaEqualsPrimary(primary, "east");
                awaitReplicaEqualsPrimary(primary, "west");

                // 1b. ext4 through the wedge (nbdfuse + loop): file operations, then both sites' replicas
                // equal the primary and fsck clean.
                try (NbdfuseDisk host = NbdfuseDisk.attach(dir, "host", uri)) {
                    Peers.ok(PEER, "mkfs.ext4", "-q", "-F", host.device());
                    long ops = new AcceptanceIT.FileOperations(host.mount(dir.resolve("mnt")), 12)
                            .runFor(Duration.ofSeconds(10));
                    host.unmount();
                    assertTrue(ops > 100, "file operations on ext4: " + ops);
                }
                for (String site : List.of("east", "west")) {
                    awaitReplicaEqualsPrimary(primary, site);
                    Peers.ok(PEER, "e2fsck", "-fn", dir.resolve(site).resolve(EXPORT).resolve("replica.img").toString());
                }

                // 2. kill -9 a replayer mid-stream and restart it while a broker is down.
                Process writer = new ProcessBuilder(qemuWrites(uri, 3000, 2)).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("writer.log").toFile()).start();
                Path eastState = dir.resolve("east").resolve(EXPORT).resolve("kafka.position");
                String before = Files.readString(eastState);
                Poll.until(Duration.ofSeconds(60), () -> "east applying the second burst",
                        () -> !readQuietly(eastState).equals(before));
                east.kill9();
                kafka.stopBroker(1);
                east = startSite(kafka, "east", 2);
                assertEquals(0, writer.waitFor() == 0 ? 0 : writer.exitValue(), "qemu-io second burst");
                kafka.startBroker(1);
                awaitReplicaEqualsPrimary(primary, "east");
                awaitReplicaEqualsPrimary(primary, "west");
                kafka.awaitBrokers();

                // 3. all brokers down while the host writes: the buffer absorbs it, status shows the link down.
                for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                    kafka.stopBroker(id);
                }
                try {
                    Peers.run(PEER, qemuWrites(uri, 300, 3)).orFail("qemu-io during the outage");
                    Poll.until(Duration.ofSeconds(60), () -> "status shows the kafka link down",
                            () -> kafkaLinkDown(buffer));
                } finally {
                    for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                        kafka.startBroker(id);
                    }
                }
                awaitReplicaEqualsPrimary(primary, "east");
                awaitReplicaEqualsPrimary(primary, "west");
                Peers.Result synced = TaplineProcess.run(Duration.ofSeconds(90), "status", "--buffer",
                        buffer.toString(), "--wait-synced", "60");
                assertEquals(0, synced.exitCode(), "status --wait-synced with the kafka link: " + synced.output());
                long last = assertEachSequenceAppliedOnce("east");
                assertEquals(last, assertEachSequenceAppliedOnce("west"));

                // Auditors read the command log where it lives: every sequence once, from Kafka.
                String json = TaplineProcess.run(Duration.ofSeconds(90), "audit", "list", "--kafka", kafka.bootstrap(),
                        "--kafka-topic-prefix", "it.", "--volume", EXPORT, "--json").orFail("audit list --kafka")
                        .output();
                var rows = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('[')));
                assertEquals(last, rows.size(), "records listed from Kafka");
                for (int i = 0; i < rows.size(); i++) {
                    assertEquals(i + 1, rows.get(i).get("sequence").asLong());
                }
            } finally {
                for (TaplineProcess p : processes) {
                    p.close();
                }
            }
        }
    }

    /**
     * The buffer overflows while every broker is down (FULL: the writes past it are tracked as
     * changed chunks, a GAP follows once space returns): the wedge's resync copies the tracked
     * chunks through Kafka, and the site is a consistent image of the primary again.
     */
    @Test
    void aBufferThatOverflowsDuringAKafkaOutageIsHealedByACopyOfItsChunks() throws Exception {
        try (KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka"))) {
            Path primary = dir.resolve("primary.img");
            Path buffer = dir.resolve("buffer");
            String uri = startWedge(kafka, "--buffer-max", "8M", "--segment-size", "1M");
            startSite(kafka, "east", 1);
            try {
                Peers.run(PEER, qemuWrites(uri, 100, 4)).orFail("qemu-io before the outage");
                awaitReplicaEqualsPrimary(primary, "east");
                for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                    kafka.stopBroker(id);
                }
                try {
                    Peers.run(PEER, qemuWrites(uri, 800, 5)).orFail("qemu-io during the outage"); // ~27 MiB into 8 MiB
                    var v = io.tapline.tools.cli.Json.mapper().readTree(TaplineProcess.run(Duration.ofSeconds(60),
                            "status", "--buffer", buffer.toString(), "--json").orFail("status").output())
                            .get("volumes").get(0);
                    assertTrue(v.get("lostWrites").asLong() > 0 && v.get("mode").asText().equals("FULL"),
                            "the buffer overflowed: " + v);
                    assertEquals(false, v.get("synced").asBoolean(), "status never says synced while FULL: " + v);
                } finally {
                    for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                        kafka.startBroker(id);
                    }
                }
                awaitReplicaEqualsPrimary(primary, "east");
                Peers.Result synced = TaplineProcess.run(Duration.ofSeconds(150), "status", "--buffer",
                        buffer.toString(), "--wait-synced", "120");
                assertEquals(0, synced.exitCode(), "status --wait-synced after the copy: " + synced.output());
                String[] replica = {""};
                Poll.until(Duration.ofSeconds(60), () -> "the copy heals the site: " + replica[0], Poll.of(() -> {
                    String out = TaplineProcess.run(Duration.ofSeconds(60), "status", "--data",
                            dir.resolve("east").toString(), "--json").orFail("status --data").output();
                    var v = io.tapline.tools.cli.Json.mapper().readTree(out.substring(out.indexOf('{')))
                            .get("volumes").get(0);
                    replica[0] = v.toString();
                    return v.get("state").asText().equals("consistent");
                }));
                Peers.ok(PEER, "cmp", primary.toString(), dir.resolve("east").resolve(EXPORT).resolve("replica.img")
                        .toString());
            } finally {
                for (TaplineProcess p : processes) {
                    p.close();
                }
            }
        }
    }

    /**
     * Probe D7: a wedge restarted on a new, empty buffer (same --kafka, prefix and volume) shipped
     * seq 1.. again, which the site skipped as applied: it diverged while status said fine. Now the
     * new buffer's link is refused, status says why, and nothing of it reaches the topic.
     */
    @Test
    void aWedgeOnANewBufferIsRefusedByItsVolumesTopicAndStatusSaysWhy() throws Exception {
        try (KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka"))) {
            Path primary = dir.resolve("primary.img");
            Path buffer = dir.resolve("buffer");
            String uri = startWedge(kafka);
            TaplineProcess first = processes.get(processes.size() - 1);
            startSite(kafka, "east", 1);
            try {
                Peers.run(PEER, qemuWrites(uri, 100, 7)).orFail("qemu-io");
                awaitReplicaEqualsPrimary(primary, "east");
                int onTopic = auditRows(kafka);
                first.close();
                Files.move(buffer, dir.resolve("buffer-old")); // the operator starts over with an empty buffer
                uri = startWedge(kafka);
                Peers.run(PEER, qemuWrites(uri, 20, 8)).orFail("qemu-io on the new buffer");
                String[] why = {""};
                Poll.until(Duration.ofSeconds(60), () -> "status names the refused topic, not: " + why[0],
                        () -> (why[0] = String.valueOf(kafkaLinkError(buffer))).startsWith("kafka topic it." + EXPORT
                                + " holds another capture buffer's records"));
                assertEquals(onTopic, auditRows(kafka), "nothing of the new buffer reached the topic");
            } finally {
                for (TaplineProcess p : processes) {
                    p.close();
                }
            }
        }
    }

    /** The records {@code audit list --kafka} lists for the volume. */
    private int auditRows(KafkaCluster kafka) throws Exception {
        String json = TaplineProcess.run(Duration.ofSeconds(90), "audit", "list", "--kafka", kafka.bootstrap(),
                "--kafka-topic-prefix", "it.", "--volume", EXPORT, "--json").orFail("audit list --kafka").output();
        return io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('['))).size();
    }

    /**
     * Starts {@code tapline wedge --kafka} on a free port, primary {@code primary.img} and buffer
     * {@code buffer} under the test's directory, with {@code extra} options; returns its NBD URI.
     */
    private String startWedge(KafkaCluster kafka, String... extra) throws Exception {
        InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
        List<String> args = new ArrayList<>(List.of("wedge", "--nbd", "127.0.0.1:" + nbd.getPort(), "--export", EXPORT,
                "--volume", dir.resolve("primary.img").toString(), "--size", Long.toString(SIZE), "--buffer",
                dir.resolve("buffer").toString(), "--kafka", kafka.bootstrap(), "--kafka-topic-prefix", "it."));
        args.addAll(List.of(extra));
        own(TaplineProcess.start(dir.resolve("wedge.log"), args.toArray(String[]::new)))
                .awaitListening(nbd, Duration.ofSeconds(60));
        return "nbd://127.0.0.1:" + nbd.getPort() + "/" + EXPORT;
    }

    private TaplineProcess startSite(KafkaCluster kafka, String site, int run) throws Exception {
        return own(TaplineProcess.start(dir.resolve("replay-" + site + "-" + run + ".log"), "replay", "--data",
                dir.resolve(site).toString(), "--kafka", kafka.bootstrap(), "--kafka-topic-prefix", "it.", "--site",
                site)).awaitLogLine("tapline replay: consuming", Duration.ofSeconds(60));
    }

    private TaplineProcess own(TaplineProcess p) {
        processes.add(p);
        return p;
    }

    /** qemu-io with {@code count} writes of 4..64 KiB, each of one byte pattern, then a flush. */
    private static List<String> qemuWrites(String uri, int count, long seed) {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        Random rnd = new Random(seed);
        for (int i = 0; i < count; i++) {
            int blocks = 1 + rnd.nextInt(16);
            long offset = (long) rnd.nextInt((int) (SIZE / 4096) - blocks) * 4096;
            cmd.add("-c");
            cmd.add("write -P " + (1 + rnd.nextInt(255)) + " " + offset + " " + blocks * 4 + "k");
        }
        cmd.add("-c");
        cmd.add("flush");
        cmd.add(uri);
        return cmd;
    }

    private void awaitReplicaEqualsPrimary(Path primary, String site) throws Exception {
        Path replica = dir.resolve(site).resolve(EXPORT).resolve("replica.img");
        String want = Peers.md5(primary);
        String[] got = {"none"};
        Poll.until(SYNC, () -> "replica at " + site + " md5 " + got[0] + " != primary " + want + "\n--- logs:\n"
                + logs(), Poll.of(() -> {
                    got[0] = Files.exists(replica) ? Peers.md5(replica) : "none";
                    return got[0].equals(want);
                }));
    }

    private String logs() {
        StringBuilder b = new StringBuilder();
        for (TaplineProcess p : processes) {
            String t = p.logText();
            b.append(t, Math.max(0, t.length() - 4000), t.length()).append("\n---\n");
        }
        return b.toString();
    }

    private static boolean kafkaLinkDown(Path buffer) {
        return kafkaLinkError(buffer) != null;
    }

    /** The kafka remote's lastError while {@code status --json} shows its link down, else null. */
    private static String kafkaLinkError(Path buffer) {
        var r = kafkaRemote(buffer);
        return r != null && !r.get("connected").asBoolean() && r.hasNonNull("lastError")
                ? r.get("lastError").asText() : null;
    }

    /** The kafka remote of {@code status --buffer --json}, or null when status does not show it (yet). */
    private static com.fasterxml.jackson.databind.JsonNode kafkaRemote(Path buffer) {
        try {
            String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", buffer.toString(), "--json")
                    .output();
            var remotes = io.tapline.tools.cli.Json.mapper().readTree(json).get("volumes").get(0).get("remotes");
            for (var r : remotes) {
                if (r.get("remote").asText().equals("kafka")) {
                    return r;
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * Each sequence is applied once: a RECORD entry per sequence, except records a crash left above
     * the durable applied sequence, which the next start undoes (a RECOVERY entry) before applying
     * them again.
     */
    private long assertEachSequenceAppliedOnce(String site) throws IOException {
        TreeSet<Long> applied = new TreeSet<>();
        for (AuditEntry e : AuditLog.read(dir.resolve(site).resolve(EXPORT))) {
            if (e.type() == AuditType.RECOVERY) {
                applied.tailSet(e.captureTimeNanos(), false).clear(); // undone above the durable sequence
            } else if (e.type() == AuditType.RECORD) {
                assertTrue(applied.add(e.sequence()), site + ": sequence " + e.sequence() + " applied twice");
            }
        }
        assertEquals(applied.last(), (long) applied.size(), site + ": every sequence 1.." + applied.last());
        return applied.last();
    }
}
