package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole journey with real NBD clients: qemu-img, qemu-io and nbdcopy write through the wedge;
 * the replica must end byte-identical to the primary, and the primary must hold what was written
 * (also with {@code --primary-cache none}, whose written pages leave the page cache).
 */
class WedgeReplicationIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final long SIZE = 256L << 20;

    @TempDir
    Path dir;

    @Test
    void qemuAndNbdcopyWritesReachTheReplicaByteForByte() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            Path source = dir.resolve("source.img");
            byte[] data = new byte[(int) SIZE];
            new Random(42).nextBytes(data);
            // Leave holes of zeroes so that qemu-img's zero detection sends WRITE_ZEROES / TRIM too.
            java.util.Arrays.fill(data, 64 << 20, 96 << 20, (byte) 0);
            Files.write(source, data);

            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), rig.uri());
            assertEquals(Peers.md5(source), Peers.md5(rig.primary()), "primary after qemu-img convert");

            // 200 random 4 KiB writes with distinct patterns, in one qemu-io session.
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f", "raw"));
            Random rnd = new Random(7);
            for (int i = 0; i < 200; i++) {
                long offset = (long) rnd.nextInt((int) (SIZE / 4096)) * 4096;
                int pattern = 1 + rnd.nextInt(255);
                cmd.add("-c");
                cmd.add("write -P " + pattern + " " + offset + " 4k");
                for (int b = 0; b < 4096; b++) {
                    data[(int) offset + b] = (byte) pattern;
                }
            }
            cmd.add("-c");
            cmd.add("flush");
            cmd.add(rig.uri());
            Peers.run(PEER, cmd).orFail("qemu-io");
            Files.write(source, data);
            assertEquals(Peers.md5(source), Peers.md5(rig.primary()), "primary after qemu-io");

            // nbdcopy over several connections, from a fresh random file.
            Path second = dir.resolve("second.img");
            byte[] other = new byte[(int) SIZE];
            new Random(99).nextBytes(other);
            Files.write(second, other);
            Peers.ok(PEER, "nbdcopy", "--connections=4", second.toString(), rig.uri());
            assertEquals(Peers.md5(second), Peers.md5(rig.primary()), "primary after nbdcopy");

            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            assertEquals(Peers.md5(second), Peers.md5(rig.replica()), "replica holds the last image written");
        }
    }

    @Test
    void aPrimaryThatDropsWrittenPagesReadsBackAndReplicates() throws Exception {
        long size = 64L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size)) {
            rig.startReplayer();
            rig.startWedge("--primary-cache", "none");
            Path source = dir.resolve("source.img");
            byte[] data = new byte[(int) size];
            new Random(5).nextBytes(data);
            Files.write(source, data);
            Peers.ok(PEER, "nbdcopy", "--connections=4", source.toString(), rig.uri());
            long resident = residentBytes(rig.primary());
            assertTrue(resident <= 24L << 20, "the primary's written pages left the cache: " + resident + " bytes resident");
            Path readBack = dir.resolve("read-back.img");
            Peers.ok(PEER, "nbdcopy", rig.uri(), readBack.toString());
            assertEquals(Peers.md5(source), Peers.md5(readBack), "the host reads back what it wrote");
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
        }
    }

    /** Resident page-cache bytes of a file (util-linux fincore). */
    private static long residentBytes(Path file) throws Exception {
        return Long.parseLong(Peers.ok(PEER, "fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
                .trim());
    }

    @Test
    void statusReportsCapturedAndAckedAsJson() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 64L << 20).start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 1M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                    "--json").orFail("status --json").output();
            var tree = io.tapline.tools.cli.Json.mapper().readTree(json);
            var volume = tree.get("volumes").get(0);
            assertEquals("vol1", volume.get("volume").asText());
            assertTrue(volume.get("captured").asLong() >= 1, json);
            assertEquals(volume.get("captured").asLong(), volume.get("remotes").get(0).get("acked").asLong(), json);
            assertTrue(tree.get("synced").asBoolean(), json);
            rig.assertReplicaMatchesPrimary();
            // The same figures as Prometheus metrics on both sides.
            long captured = volume.get("captured").asLong();
            assertEquals(captured, (long) ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_captured_sequence"));
            assertEquals(1.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_connected"));
            assertEquals(0.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_mode"));
            // How the link fits the line: a window of at least the floor, a codec level that exists.
            assertTrue(ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_window_batches") >= 4);
            double zstd = ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_zstd_level");
            assertTrue(zstd == 0 || zstd == 1 || zstd == 3, "zstd level " + zstd);
            assertTrue(ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_line_bytes_per_second") >= -1);
            assertEquals(captured, (long) ReplicationRig.metric(rig.replayMetrics, "tapline_replay_applied_sequence"));
            assertEquals(0.0, ReplicationRig.metric(rig.replayMetrics, "tapline_replay_out_of_sync"));
            // Every applied record's lag (capture -> durable on the replica) is in the histogram.
            assertEquals(captured, (long) ReplicationRig.metric(rig.replayMetrics, "tapline_replay_lag_seconds_count"));
            double maxLag = ReplicationRig.metric(rig.replayMetrics, "tapline_replay_lag_seconds_max");
            assertTrue(maxLag > 0 && maxLag < 60, "lag max " + maxLag + " s");
            assertTrue(ReplicationRig.metric(rig.replayMetrics, "tapline_replay_lag_seconds_bucket") >= 0,
                    "a Prometheus histogram (buckets) for the lag");
        }
    }
}
