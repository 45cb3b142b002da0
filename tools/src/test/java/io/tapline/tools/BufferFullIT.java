package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Never silent loss when the buffer fills: the replayer is down, the host writes more than the
 * buffer holds. The host's writes all succeed, status and metrics say FULL with lost writes;
 * once the replayer is back the buffer drains, a GAP record reaches the replica, which is then
 * marked out of sync (never silently different from the primary).
 */
class BufferFullIT {
    private static final Duration PEER = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    @Test
    void fullBufferKeepsHostWritesWorkingAndEndsInAVisibleGap() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 128L << 20)) {
            rig.startWedge("--buffer-max", "8M", "--segment-size", "1M"); // no replayer yet
            Path source = dir.resolve("source.img");
            byte[] data = new byte[32 << 20];
            new Random(11).nextBytes(data);
            Files.write(source, data);
            // 32 MiB into an 8 MiB buffer: must succeed for the host regardless.
            Peers.ok(PEER, "nbdcopy", source.toString(), rig.uri());
            byte[] head = new byte[data.length];
            try (var in = Files.newInputStream(rig.primary())) {
                assertEquals(data.length, in.readNBytes(head, 0, head.length));
            }
            assertTrue(java.util.Arrays.equals(data, head), "the primary holds every byte the host wrote");

            JsonNode volume = status(rig).get("volumes").get(0);
            assertEquals("FULL", volume.get("mode").asText(), volume.toString());
            assertTrue(volume.get("lostWrites").asLong() > 0, volume.toString());
            assertEquals(2.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_mode"));

            rig.startReplayer();
            rig.awaitSynced(Duration.ofSeconds(120)); // drained, the GAP included
            volume = status(rig).get("volumes").get(0);
            assertEquals("DATA", volume.get("mode").asText(), volume.toString());
            assertEquals(1, volume.get("gapRecords").asLong(), volume.toString());
            assertEquals(1.0, ReplicationRig.metric(rig.replayMetrics, "tapline_replay_out_of_sync"),
                    "the replica must say it misses data");
        }
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(), "--json")
                .output();
        return Json.mapper().readTree(json.substring(json.indexOf('{')));
    }
}
