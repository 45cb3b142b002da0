package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tapline events --json} against a running wedge: one "exists" event with the volume synced,
 * then a "change" event naming what changed when the replayer stops (the remote disconnects, the
 * volume is no longer synced); every change event names its changed fields.
 */
class EventsIT {
    @TempDir
    Path tmp;

    @Test
    void aStoppedReplayerIsAChangeEvent() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(tmp, 64L << 20)) {
            rig.start();
            HostWrites.random4k(rig, 64L << 20, 10, 1);
            rig.awaitSynced(Duration.ofSeconds(60));
            // The replayer's rollback window is in its metrics too.
            assertTrue(ReplicationRig.metric(rig.replayMetrics, "tapline_replay_undo_bytes") > 0);
            assertTrue(ReplicationRig.metric(rig.replayMetrics, "tapline_replay_undo_oldest_sequence") == 0);
            assertTrue(ReplicationRig.metric(rig.replayMetrics, "tapline_replay_undo_window_seconds") > 0);
            try (TaplineProcess events = TaplineProcess.start(tmp.resolve("events.log"), "events", "--buffer",
                    rig.buffer().toString(), "--json", "--interval", "PT0.2S", "--for", "PT120S")) {
                Poll.until(Duration.ofSeconds(30), events::logText, () -> lines(events).size() >= 1);
                JsonNode exists = lines(events).get(0);
                assertTrue(exists.get("event").asText().equals("exists") && exists.get("state").get("synced").asBoolean(),
                        exists.toString());
                HostWrites.random4k(rig, 64L << 20, 10, 2);
                rig.awaitSynced(Duration.ofSeconds(60));
                rig.replayer().close();
                Poll.until(Duration.ofSeconds(30), events::logText, () -> lines(events).stream().anyMatch(
                        e -> e.get("event").asText().equals("change") && !e.get("state").get("synced").asBoolean()));
                for (JsonNode e : lines(events)) {
                    if (e.get("event").asText().equals("change")) {
                        assertTrue(e.get("changed").size() > 0, e.toString());
                    }
                }
            }
        }
    }

    private static List<JsonNode> lines(TaplineProcess p) {
        List<JsonNode> out = new ArrayList<>();
        for (String line : p.logText().lines().toList()) {
            if (line.startsWith("{")) {
                try {
                    out.add(Json.mapper().readTree(line));
                } catch (Exception e) {
                    throw new AssertionError("not JSON: " + line, e);
                }
            }
        }
        return out;
    }
}
