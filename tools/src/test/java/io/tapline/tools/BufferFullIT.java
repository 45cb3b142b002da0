package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A buffer far too small for what the host writes while the replayer is down: the host's writes
 * all succeed, the buffer tracks changed chunks (FULL), status and metrics say so and
 * {@code --wait-synced} fails naming it; once the replayer is back, the GAP reaches it (out of
 * sync), a resync compares and ships the differing blocks, and the replica equals the primary.
 */
class BufferFullIT {
    private static final Duration PEER = Duration.ofMinutes(5);

    @TempDir
    Path dir;

    @Test
    void fullBufferTracksChunksAndAResyncBringsTheReplicaBack() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 512L << 20)) {
            rig.startWedge("--buffer-max", "64M", "--segment-size", "4M"); // no replayer yet
            Path source = dir.resolve("source.img");
            byte[] block = new byte[1 << 20];
            Random random = new Random(11);
            try (var out = Files.newOutputStream(source)) {
                for (int i = 0; i < 400; i++) {
                    random.nextBytes(block);
                    out.write(block);
                }
            }
            // 400 MiB into a 64 MiB buffer: must succeed for the host regardless.
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), rig.uri());
            assertEquals(Peers.md5(source), Peers.md5Prefix(rig.primary(), Files.size(source)),
                    "the primary holds every byte the host wrote");

            JsonNode volume = status(rig).get("volumes").get(0);
            assertEquals("FULL", volume.get("mode").asText(), volume.toString());
            assertTrue(volume.get("lostWrites").asLong() > 0, volume.toString());
            assertTrue(volume.get("trackedChunks").asLong() > 0, volume.toString());
            assertEquals(2.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_mode"));
            assertTrue(ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_tracked_chunks") > 0);
            assertEquals(0.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_volume_synced"));
            assertTrue(ReplicationRig.metric(rig.wedgeMetrics, "tapline_volume_degraded_conditions") >= 3,
                    "FULL, lost writes, tracked chunks, the link down");
            Peers.Result notYet = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                    rig.buffer().toString(), "--wait-synced", "1");
            assertEquals(1, notYet.exitCode(), notYet.output());
            assertTrue(notYet.output().contains("buffer FULL"), notYet.output());

            rig.startReplayer();
            Set<String> seen = new TreeSet<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
            while (System.nanoTime() < deadline) {
                JsonNode tree = status(rig);
                JsonNode v = tree.get("volumes").get(0);
                seen.add("mode " + v.get("mode").asText());
                for (JsonNode r : v.get("remotes")) {
                    seen.add("replica " + r.get("replica").asText());
                }
                if (tree.get("synced").asBoolean()) {
                    break;
                }
            }
            rig.awaitSynced(Duration.ofSeconds(30));
            volume = status(rig).get("volumes").get(0);
            assertEquals("DATA", volume.get("mode").asText(), volume.toString());
            assertEquals(0, volume.get("trackedChunks").asLong(), volume.toString());
            assertTrue(volume.get("gapRecords").asLong() >= 1, volume.toString());
            assertEquals("consistent", volume.get("remotes").get(0).get("replica").asText(), volume.toString());
            JsonNode resync = volume.get("resync");
            assertTrue(resync.get("epochsCompleted").asLong() >= 1, volume.toString());
            rig.assertReplicaMatchesPrimary();
            assertEquals(0.0, ReplicationRig.metric(rig.replayMetrics, "tapline_replay_out_of_sync"),
                    "healed: the replica says it is consistent");
            assertEquals(1.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_replica_consistent"));
            assertEquals(1.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_volume_synced"), "as status says synced");
            assertEquals(0.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_volume_degraded_conditions"));
            assertTrue(seen.contains("replica resyncing") || seen.contains("replica out-of-sync")
                    || seen.contains("replica behind"), "states seen on the way: " + seen);
            assertNotEquals(Set.of("replica consistent"), seen, "states seen on the way: " + seen);

            // The source's own audit log has it all, as it happened, and nothing left open once synced.
            java.util.List<String> trail = SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT);
            SourceTrail.assertBegunAndEnded(trail, "link to 127.0.0.1:");
            SourceTrail.assertBegunAndEnded(trail, "buffer full: tracking changed chunks");
            SourceTrail.assertBegunAndEnded(trail, "writes not captured");
            SourceTrail.assertBegunAndEnded(trail, "chunks awaiting resync");
            SourceTrail.assertBegunAndEnded(trail, "a resync ");
            assertTrue(trail.stream().anyMatch(e -> e.startsWith("DEGRADED") && e.contains("GAP record")), trail.toString());
        }
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(), "--json")
                .output();
        return Json.mapper().readTree(json.substring(json.indexOf('{')));
    }
}
