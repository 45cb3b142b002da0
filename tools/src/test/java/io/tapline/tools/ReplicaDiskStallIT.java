package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica whose disk stops answering while its replayer runs: the replayer's data directory is
 * on an ext4 whose disk server is stopped (SIGSTOP of nbdkit behind nbdfuse and a loop device), so
 * the apply thread waits in the kernel while the replayer's event loop keeps the link alive with
 * its heartbeat. The source's status must not stop at "connected, behind": it names the batch the
 * replayer holds unapplied and for how long (JSON, text and metric), and the replayer says it at
 * WARN and in its own metric. When the disk answers again the replica catches up and equals the primary. Needs root,
 * FUSE, nbdkit, nbdfuse, qemu-utils.
 */
class ReplicaDiskStallIT {
    private static final long VOLUME_BYTES = 32L << 20;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aReplicaWhoseDiskHangsIsShownHoldingABatchAndCatchesUpWhenItAnswers() throws Exception {
        try (FaultyExt4 fs = FaultyExt4.mount(dir, "replica");
                ReplicationRig rig = new ReplicationRig(dir, VOLUME_BYTES)) {
            Files.createSymbolicLink(dir.resolve("remote"), Files.createDirectories(fs.mnt.resolve("remote")));
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
}
