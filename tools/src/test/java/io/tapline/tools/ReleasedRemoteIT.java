package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-remote retention: one dead remote does not hold the others. A wedge ships to two replayers,
 * one of them never up; the host writes far more than the buffer holds. The dead remote is
 * released (the buffer stops keeping records for it, status and the audit log say so, never as
 * applied), the live replica goes on and equals the primary while the other is still down, and the
 * dead one, once started, gets a full resync and equals the primary too.
 */
class ReleasedRemoteIT {
    private static final Duration PEER = Duration.ofMinutes(5);

    @TempDir
    Path dir;

    @Test
    void aRemoteDownWhileItAloneHoldsTheBufferIsReleasedAndTheOthersGoOn() throws Exception {
        InetSocketAddress deadLink = new InetSocketAddress("127.0.0.1", Peers.freePort());
        String dead = ReplicationRig.hostPort(deadLink);
        try (ReplicationRig rig = new ReplicationRig(dir, 256L << 20)) {
            rig.startReplayer();
            rig.startWedge("--buffer-max", "48M", "--segment-size", "4M", "--remote", dead,
                    "--release-remote-after", "2s");
            Path source = dir.resolve("source.img");
            byte[] block = new byte[1 << 20];
            Random random = new Random(5);
            try (var out = Files.newOutputStream(source)) {
                for (int i = 0; i < 160; i++) {
                    random.nextBytes(block);
                    out.write(block);
                }
            }
            // 160 MiB into a 48 MiB buffer, one remote never up
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), rig.uri());

            JsonNode deadRemote = null;
            JsonNode liveRemote = null;
            JsonNode volume = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
            while (System.nanoTime() < deadline) {
                volume = status(rig).get("volumes").get(0);
                for (JsonNode r : volume.get("remotes")) {
                    if (dead.equals(r.get("address").asText())) {
                        deadRemote = r;
                    } else {
                        liveRemote = r;
                    }
                }
                if (deadRemote != null && !deadRemote.get("released").isNull() && liveRemote != null
                        && "consistent".equals(liveRemote.get("replica").asText())
                        && liveRemote.get("acked").asLong() == volume.get("captured").asLong()
                        && volume.get("trackedChunks").asLong() == 0) {
                    break;
                }
                Thread.onSpinWait();
            }
            assertNotNull(deadRemote, String.valueOf(volume));
            assertFalse(deadRemote.get("released").isNull(), "the dead remote is released: " + volume);
            assertTrue(deadRemote.get("released").asText().contains("its replica is resynced when it returns"),
                    volume.toString());
            assertEquals(0, deadRemote.get("acked").asLong(), "status never counts dropped records as applied: "
                    + volume);
            assertEquals("consistent", liveRemote.get("replica").asText(), volume.toString());
            assertEquals(Peers.md5(rig.primary()), Peers.md5(rig.replica()),
                    "the live replica went on while the other remote was down");
            Peers.Result notSynced = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                    rig.buffer().toString(), "--wait-synced", "1");
            assertEquals(1, notSynced.exitCode(), notSynced.output());
            assertTrue(notSynced.output().contains("remote " + dead + " released at "), notSynced.output());

            Path deadData = dir.resolve("remote-b");
            try (TaplineProcess b = TaplineProcess.startWithHeap(dir.resolve("replay-b.log"), "-Xmx512m", "replay",
                    "--listen", dead, "--data", deadData.toString()).awaitListening(deadLink, ReplicationRig.START)) {
                ReplicationRig.awaitSynced(rig.buffer(), Duration.ofSeconds(240), rig.wedge(), b);
                assertEquals(Peers.md5(rig.primary()), Peers.md5(deadData.resolve("vol1/replica.img")),
                        "the released remote came back by a full resync");
                JsonNode healed = status(rig).get("volumes").get(0);
                for (JsonNode r : healed.get("remotes")) {
                    assertTrue(r.get("released").isNull(), "its release ended: " + healed);
                }
                java.util.List<String> trail = SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT);
                SourceTrail.assertBegunAndEnded(trail, "remote " + dead.replace(':', '_') + " released at ");
            }
        }
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(), "--json")
                .output();
        return Json.mapper().readTree(json.substring(json.indexOf('{')));
    }
}
