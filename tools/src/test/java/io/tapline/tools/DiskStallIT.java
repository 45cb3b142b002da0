package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks that stop answering (SIGSTOP of the nbdkit behind an ext4 on nbdfuse and a loop device),
 * while the processes on them run. Status must say so rather than hang or look healthy.
 *
 * <p>A replica whose disk stops answering while its replayer runs: the replayer's data directory is
 * on an ext4 whose disk server is stopped (SIGSTOP of nbdkit behind nbdfuse and a loop device), so
 * the apply thread waits in the kernel while the replayer's event loop keeps the link alive with
 * its heartbeat. The source's status must not stop at "connected, behind": it names the batch the
 * replayer holds unapplied and for how long (JSON, text and metric), and the replayer says it at
 * WARN and in its own metric. When the disk answers again the replica catches up and equals the primary.
 *
 * <p>A source whose buffer disk stops answering while the host writes: the wedge's capture thread
 * waits in an fsync holding the buffer, and the status files' directory cannot be read. The
 * metrics still answer (from memory) and say how old their buffer figures are, the status page
 * answers 503 with the reason, and {@code tapline status} ends with one line and exit 1 instead
 * of hanging. Needs root, FUSE, nbdkit, nbdfuse, qemu-utils.
 */
class DiskStallIT {
    private static final long VOLUME_BYTES = 32L << 20;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aReplicaWhoseDiskHangsIsShownHoldingABatchAndCatchesUpWhenItAnswers() throws Exception {
        try (FaultyExt4 fs = FaultyExt4.mount(dir, "replica");
                ReplicationRig rig = new ReplicationRig(dir, VOLUME_BYTES)) {
            fs.holds(dir.resolve("remote")); // the replayer's --data
            rig.start();
            HostWrites.random4k(rig, VOLUME_BYTES, 50, 31);
            rig.awaitSynced(Duration.ofSeconds(60));

            try {
                whileTheDiskHangs(fs, rig);
            } finally {
                fs.resume(); // before the rig stops its processes: a replayer waiting on the disk cannot stop
            }
            rig.awaitSynced(Duration.ofSeconds(120));
            JsonNode after = ReplicationRig.awaitFirstRemote(rig.buffer(),
                    r -> r.path("replicaUnappliedForMillis").asLong() < 1_000, Duration.ofSeconds(30), rig.wedge());
            assertEquals("consistent", after.get("replica").asText(), after.toString());
            rig.replayer().awaitLogLine("applies again", Duration.ofSeconds(30));
            rig.assertReplicaMatchesPrimary();
        }
    }

    private static void whileTheDiskHangs(FaultyExt4 fs, ReplicationRig rig) throws Exception {
        fs.suspend();
        HostWrites.random4k(rig, VOLUME_BYTES, 20, 32); // the host is not slowed: the wedge's disk answers
        JsonNode held = ReplicationRig.awaitFirstRemote(rig.buffer(),
                r -> r.path("replicaUnappliedForMillis").asLong() >= 6_000, Duration.ofSeconds(60), rig.wedge());
        assertTrue(held.get("connected").asBoolean(), "the link stays up (heartbeats): " + held);
        assertEquals("behind", held.get("replica").asText(), held.toString());
        assertTrue(held.get("replicaReason").asText().contains("the replayer has held a received batch unapplied for"),
                held.toString());
        String text = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString())
                .output();
        assertTrue(text.contains("its disk is slow or not answering"), text);
        assertTrue(ReplicationRig.metric(rig.wedgeMetrics, "tapline_replica_unapplied_seconds") >= 5.0,
                "the source's metric says it too");
        assertTrue(ReplicationRig.metric(rig.replayMetrics, "tapline_replay_unapplied_seconds") >= 5.0,
                "and the replayer's, served from memory while its disk hangs");
        Peers.Result waited = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                rig.buffer().toString(), "--wait-synced", "2");
        assertFalse(waited.exitCode() == 0, "never synced while the replica holds writes: " + waited.output());
        rig.replayer().awaitLogLine("has held a received batch unapplied", Duration.ofSeconds(30));
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aSourceWhoseBufferDiskHangsStillAnswersAndSaysSo() throws Exception {
        try (FaultyExt4 fs = FaultyExt4.mount(dir, "buffer");
                ReplicationRig rig = new ReplicationRig(dir, VOLUME_BYTES)) {
            fs.holds(rig.buffer());
            rig.start();
            HostWrites.random4k(rig, VOLUME_BYTES, 50, 33);
            rig.awaitSynced(Duration.ofSeconds(60));
            Poll.until(Duration.ofSeconds(30), () -> "fresh buffer figures while the disk answers", Poll.of(
                    () -> ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_status_age_seconds") < 2.0));

            Process host = null;
            try {
                fs.suspend();
                // The host writes and flushes: the wedge's fsync of the buffer now waits for the disk.
                host = new ProcessBuilder("qemu-io", "-f", "raw", "-c", "write -P 0x44 1M 1M", "-c", "flush", rig.uri())
                        .redirectErrorStream(true).redirectOutput(dir.resolve("host-write.log").toFile()).start();
                Poll.until(Duration.ofSeconds(60), () -> "the metrics say the buffer figures are old", Poll.of(
                        () -> ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_status_age_seconds") >= 3.0));
                long t0 = System.nanoTime();
                Peers.Result status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                        rig.buffer().toString(), "--read-timeout", "3");
                long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
                assertEquals(1, status.exitCode(), status.output());
                assertTrue(status.output().contains("did not answer within 3 s: its disk may have stopped answering"),
                        status.output());
                assertTrue(seconds < 20, "status ended after " + seconds + " s");
                var page = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://" + ReplicationRig.hostPort(rig.wedgeMetrics) + "/status.json"))
                        .timeout(Duration.ofSeconds(20)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                assertEquals(503, page.statusCode(), page.body());
                assertTrue(page.body().contains("may have stopped answering"), page.body());
                assertTrue(host.isAlive(), "the host's flush waits for the disk, as it must");
            } finally {
                fs.resume();
            }
            assertTrue(host.waitFor(60, TimeUnit.SECONDS), "the host's write ends once the disk answers");
            rig.awaitSynced(Duration.ofSeconds(120));
            Poll.until(Duration.ofSeconds(30), () -> "fresh buffer figures again", Poll.of(
                    () -> ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_status_age_seconds") < 2.0));
            rig.assertReplicaMatchesPrimary();
        }
    }
}
