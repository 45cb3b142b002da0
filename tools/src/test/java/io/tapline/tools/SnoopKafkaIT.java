package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.kafka.KafkaCluster;
import io.tapline.snoop.volume.VolumeKey;
import io.tapline.snoop.volume.VolumeNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tapline snoop --pcap FILE --kafka B}: the passive tap's command log on Kafka. tcpdump
 * records an nbdkit export written by nbdcopy and qemu-io (writes, zeroes, discards, a flush);
 * the import ships each volume's buffer to its topic through the same {@code KafkaShipper} as the
 * wedge and exits 0 only once Kafka acknowledged every record; {@code tapline status} shows the
 * link as remote {@code kafka}; a {@code tapline replay --kafka} site started afterwards builds a
 * replica byte-identical (md5) to the export; {@code audit verify --kafka} finds every sequence
 * intact, then names the gap once retention deleted the topic's first records. Live ({@code snoop --interface lo --kafka}), a site
 * that consumes while the host writes reaches the same. Three in-process KRaft brokers
 * ({@link KafkaCluster}).
 * Needs root (tcpdump), nbdkit, libnbd-bin and qemu-utils; {@code .ci/run} installs them.
 */
class SnoopKafkaIT {
    private static final long EXPORT_BYTES = 16L << 20;
    private static final Duration PEER = SnoopRig.PEER;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void importShipsToKafkaAndAReplayerFromKafkaMakesTheExportsTwin() throws Exception {
        int port = Peers.freePort();
        try (KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka")); SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(EXPORT_BYTES);
            }
            Path pcap = dir.resolve("export.pcap");
            Process tcpdump = rig.startPeer("tcpdump", "tcpdump", "-i", "lo", "-s", "0", "-B", "131072", "-U", "-w",
                    pcap.toString(), "tcp port " + port);
            Poll.until(Duration.ofSeconds(20), () -> "tcpdump listening", Poll.of(() ->
                    Files.readString(dir.resolve("tcpdump.log")).contains("listening on")));
            NbdHostTraffic.startNbdkit(rig, port, image);
            NbdHostTraffic.write(dir, port, 7, EXPORT_BYTES);
            NbdHostTraffic.awaitStableSize(pcap);
            tcpdump.destroy();
            assertTrue(tcpdump.waitFor(30, TimeUnit.SECONDS), "tcpdump stops on SIGTERM");
            String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));

            Path buffer = dir.resolve("buffer");
            Peers.Result shipped = TaplineProcess.run(Duration.ofMinutes(2), "snoop", "--pcap", pcap.toString(), "--blank-targets",
                    "--buffer", buffer.toString(), "--nbd-port", Integer.toString(port), "--source-id", "snoop-kafka-it",
                    "--kafka", kafka.bootstrap(), "--kafka-topic-prefix", "it.", "--ship-timeout", "90", "--json");
            assertEquals(0, shipped.exitCode(), shipped.output());
            assertTrue(shipped.output().contains("tapline snoop: shipping: "), shipped.output());
            JsonNode summary = io.tapline.tools.cli.Json.mapper().readTree(shipped.output().substring(
                    shipped.output().indexOf("{\n")));
            assertEquals(1, summary.get("remotes").size(), summary.toString());
            JsonNode link = summary.get("remotes").get(0);
            assertEquals(volume, link.get("volume").asText());
            assertEquals("kafka://" + kafka.bootstrap() + "/it." + volume, link.get("remote").asText());
            assertTrue(link.get("captured").asLong() > 50, link.toString());
            assertEquals(link.get("captured").asLong(), link.get("acked").asLong(), link.toString());

            // tapline status reads the link as the wedge's: remote "kafka", every record acknowledged.
            String status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", buffer.toString(), "--json")
                    .orFail("status").output();
            JsonNode remotes = io.tapline.tools.cli.Json.mapper().readTree(status).get("volumes").get(0).get("remotes");
            assertEquals(1, remotes.size(), status);
            assertEquals("kafka", remotes.get(0).get("remote").asText(), status);

            // A site that starts afterwards reads the topic from its start: the replica equals the export.
            TaplineProcess replay = TaplineProcess.start(dir.resolve("replay-east.log"), "replay", "--data",
                    dir.resolve("east").toString(), "--kafka", kafka.bootstrap(), "--kafka-topic-prefix", "it.",
                    "--site", "east");
            try {
                replay.awaitLogLine("tapline replay: consuming", Duration.ofSeconds(60));
                Path replica = dir.resolve("east").resolve(volume).resolve("replica.img");
                String want = Peers.md5(image);
                Poll.until(Duration.ofSeconds(60), () -> "replica " + replica + " equals the export (md5 " + want
                        + ")\n--- replay log:\n" + replay.logText(), Poll.of(() ->
                        Files.exists(replica) && Peers.md5(replica).equals(want)));
            } finally {
                replay.close();
            }

            // Auditors verify the log where it lives: every record's CRC-32C, sequences 1..captured dense.
            long captured = link.get("captured").asLong();
            String verified = TaplineProcess.run(Duration.ofSeconds(90), "audit", "verify", "--kafka", kafka.bootstrap(),
                    "--kafka-topic-prefix", "it.", "--volume", volume).orFail("audit verify --kafka").output();
            assertTrue(verified.contains("kafka log of volume " + volume + " intact: " + captured
                    + " records, sequences 1.." + captured + " dense"), verified);

            // ... and export it as the buffer encodes it: a segment header, then every record with its CRC-32C.
            Path exported = dir.resolve("export.seg");
            TaplineProcess.run(Duration.ofSeconds(90), "audit", "export", "--kafka", kafka.bootstrap(),
                    "--kafka-topic-prefix", "it.", "--volume", volume, "--out", exported.toString())
                    .orFail("audit export --kafka");
            assertEquals(captured, countSegmentRecords(exported, volume), "records in " + exported);

            // Retention deletes the topic's first records: verify names the gap in one line and exits 1.
            try (var admin = org.apache.kafka.clients.admin.Admin.create(java.util.Map.of("bootstrap.servers",
                    kafka.bootstrap()))) {
                admin.deleteRecords(java.util.Map.of(new org.apache.kafka.common.TopicPartition("it." + volume, 0),
                        org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(5))).all().get();
            }
            Peers.Result gap = TaplineProcess.run(Duration.ofSeconds(90), "audit", "verify", "--kafka", kafka.bootstrap(),
                    "--kafka-topic-prefix", "it.", "--volume", volume);
            assertEquals(1, gap.exitCode(), gap.output());
            assertTrue(gap.output().contains("topic it." + volume + " offset 5: first sequence "), gap.output());
            assertTrue(gap.output().contains("(expected: 1); sequences 1.."), gap.output());
            String last = gap.output().strip().lines().reduce((a, b) -> b).orElse("");
            assertEquals("tapline: kafka log of volume " + volume + " is NOT intact: 1 problem(s) (topic it." + volume
                    + ")", last);
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void liveSnoopShipsToKafkaWhileASiteReplaysIt() throws Exception {
        int port = Peers.freePort();
        try (KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka")); SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(EXPORT_BYTES);
            }
            Path buffer = dir.resolve("buffer");
            TaplineProcess replay = TaplineProcess.start(dir.resolve("replay-east.log"), "replay", "--data",
                    dir.resolve("east").toString(), "--kafka", kafka.bootstrap(), "--kafka-topic-prefix", "it.",
                    "--site", "east").awaitLogLine("tapline replay: consuming", Duration.ofSeconds(60));
            TaplineProcess snoop = TaplineProcess.start(dir.resolve("snoop.log"), "snoop", "--interface", "lo",
                    "--filter", "tcp port " + port, "--buffer", buffer.toString(), "--nbd-port", Integer.toString(port),
                    "--source-id", "snoop-kafka-it", "--blank-targets", "--capture-buffer", "128M", "--kafka",
                    kafka.bootstrap(),
                    "--kafka-topic-prefix", "it.");
            try {
                snoop.awaitLogLine("tapline snoop: capturing on", SnoopRig.START);
                NbdHostTraffic.startNbdkit(rig, port, image);
                NbdHostTraffic.write(dir, port, 7, EXPORT_BYTES);
                String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));
                Path replica = dir.resolve("east").resolve(volume).resolve("replica.img");
                String want = Peers.md5(image);
                Poll.until(Duration.ofSeconds(60), () -> "replica " + replica + " equals the export (md5 " + want
                        + ")\n--- snoop log:\n" + snoop.logText() + "\n--- replay log:\n" + replay.logText(),
                        Poll.of(() -> Files.exists(replica) && Peers.md5(replica).equals(want)));

                // The running snoop's link, as tapline status reads it: remote "kafka", up, nothing lost.
                String status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", buffer.toString(),
                        "--volume", volume, "--json").orFail("status").output();
                JsonNode v = io.tapline.tools.cli.Json.mapper().readTree(status).get("volumes").get(0);
                assertEquals(0, v.get("gapRecords").asLong(), status);
                assertEquals("kafka", v.get("remotes").get(0).get("remote").asText(), status);
                assertTrue(v.get("remotes").get(0).get("connected").asBoolean(), status);
                assertTrue(v.get("remotes").get(0).get("sourceRunning").asBoolean(), status);
            } finally {
                snoop.close();
                replay.close();
            }
        }
    }

    /** Checks the segment header and each record's CRC-32C, in dense order from 1; returns how many. */
    private static long countSegmentRecords(Path file, String volume) throws java.io.IOException {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(Files.readAllBytes(file));
        assertEquals(0x544C5347, buf.getInt(), "magic TLSG");
        assertEquals(1, buf.getShort(), "format version");
        buf.position(buf.getShort());
        long n = 0;
        while (buf.hasRemaining()) {
            io.tapline.log.CaptureRecord r = io.tapline.log.RecordCodec.decode(buf);
            assertEquals(volume, r.volumeId());
            assertEquals(++n, r.sequence());
        }
        return n;
    }
}
