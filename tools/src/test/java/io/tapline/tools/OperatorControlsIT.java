package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Operator controls on a running wedge (issue "acceptance suite", part 1): capture and shipping
 * are each stopped and restarted without restarting anything; the host's writes go on throughout;
 * status is never synced while stopped and names why; after the restart the replica equals the
 * primary (capture: through a resync of the chunks tracked meanwhile).
 */
class OperatorControlsIT {
    private static final Duration CLI = Duration.ofSeconds(60);
    private static final long SIZE = ReplicationRig.LARGE_VOLUME_BYTES;

    @TempDir
    Path dir;

    private static JsonNode volumeStatus(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(), "--json").output();
        return Json.mapper().readTree(json.substring(json.indexOf('{'))).get("volumes").get(0);
    }

    @Test
    void captureStoppedTracksChunksAndRestartedResyncsThem() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            HostWrites.random4k(rig, SIZE, 200, 1);
            rig.awaitSynced(Duration.ofSeconds(60));
            String b = rig.buffer().toString();
            TaplineProcess.run(CLI, "capture", "pause", "--buffer", b, "--volume", "vol1").orFail("capture pause");
            HostWrites.random4k(rig, SIZE, 300, 2); // the host keeps writing
            JsonNode v = volumeStatus(rig);
            assertTrue(v.get("capturePaused").asText().startsWith("paused by"), v.toString());
            assertTrue(v.get("trackedChunks").asLong() > 0, v.toString());
            Peers.Result notSynced = TaplineProcess.run(CLI, "status", "--buffer", b, "--wait-synced", "2");
            assertEquals(1, notSynced.exitCode(), notSynced.output());
            assertTrue(notSynced.output().contains("capture paused"), notSynced.output());
            assertFalse(SparseImages.sameBytes(rig.primary(), rig.replica()), "the replica lacks the paused writes");
            Peers.Result mark = TaplineProcess.run(CLI, "mark", "--buffer", b, "--volume", "vol1", "during-pause");
            assertEquals(1, mark.exitCode(), mark.output());
            assertTrue(mark.output().contains("capture is paused (paused by"), "not 'buffer full' (probe s62 AD D2): "
                    + mark.output());

            TaplineProcess.run(CLI, "capture", "resume", "--buffer", b, "--volume", "vol1").orFail("capture resume");
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            v = volumeStatus(rig);
            assertTrue(v.get("capturePaused").isNull(), v.toString());
            assertTrue(v.get("resync").get("bytesSent").asLong() > 0, "the tracked chunks were resynced: " + v);
        }
    }

    @Test
    void shippingStoppedKeepsRecordsAndRestartedSendsThem() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            HostWrites.random4k(rig, SIZE, 100, 3);
            rig.awaitSynced(Duration.ofSeconds(60));
            String b = rig.buffer().toString();
            TaplineProcess.run(CLI, "ship", "pause", "--buffer", b, "--volume", "vol1").orFail("ship pause");
            HostWrites.random4k(rig, SIZE, 200, 4);
            JsonNode v = volumeStatus(rig);
            JsonNode remote = v.get("remotes").get(0);
            assertEquals("shipping-paused", remote.get("replica").asText(), v.toString());
            assertTrue(remote.get("acked").asLong() < v.get("captured").asLong(), v.toString());
            Peers.Result wrong = TaplineProcess.run(CLI, "ship", "pause", "--buffer", b, "--volume", "vol1",
                    "--remote", "127.0.0.1:1");
            assertEquals(1, wrong.exitCode(), wrong.output());
            assertTrue(wrong.output().contains("--remote: 127.0.0.1:1 (expected: one of"), wrong.output());

            TaplineProcess.run(CLI, "ship", "resume", "--buffer", b, "--volume", "vol1").orFail("ship resume");
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            assertEquals(0, volumeStatus(rig).get("resync").get("epochsCompleted").asLong(),
                    "the buffer kept every record: no resync needed");

            // The source's own audit log: who paused and resumed, the refused request, and the pause as a condition.
            String me = Actor.current();
            List<String> trail = SourceTrail.withWho(rig.buffer(), ReplicationRig.EXPORT);
            assertTrue(trail.contains("CONFIG " + me + " shipping paused to 1 remote(s) of volume vol1"), trail.toString());
            assertTrue(trail.contains("CONFIG " + me + " shipping resumed to 1 remote(s) of volume vol1"), trail.toString());
            assertTrue(trail.stream().anyMatch(e -> e.startsWith("CONFIG " + me + " ship request refused: --remote:"
                    + " 127.0.0.1:1")), trail.toString());
            List<String> plain = SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT);
            SourceTrail.assertBegunAndEnded(plain, "shipping-paused: shipping paused: paused by " + me);
            assertTrue(trail.indexOf("CONFIG " + me + " shipping paused to 1 remote(s) of volume vol1") < indexOf(trail,
                    "DEGRADED ", "shipping-paused"), "the request before what it caused: " + trail);
        }
    }

    @Test
    void aDiscardedSpanNeverShipsItsDataYetTheReplicaEndsIdentical() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            HostWrites.random4k(rig, SIZE, 100, 5);
            rig.awaitSynced(Duration.ofSeconds(60));
            String b = rig.buffer().toString();
            TaplineProcess.run(CLI, "ship", "pause", "--buffer", b, "--volume", "vol1").orFail("ship pause");
            long before = volumeStatus(rig).get("captured").asLong();
            // An aborted bulk copy: 8 MiB the operator drops from the queue, then the host goes on.
            Peers.ok(Duration.ofMinutes(2), "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw",
                    HostWrites.randomFile(dir.resolve("bulk.img"), 8, 6).toString(), rig.uri());
            long bulkEnd = volumeStatus(rig).get("captured").asLong();
            HostWrites.random4k(rig, SIZE, 50, 7);
            Peers.Result acked = TaplineProcess.run(CLI, "buffer", "discard", "--buffer", b, "--volume", "vol1",
                    "--from-seq", "1", "--to-seq", Long.toString(bulkEnd));
            assertEquals(1, acked.exitCode(), acked.output());
            assertTrue(acked.output().contains("--from-seq: 1 (expected: > "), acked.output());
            String out = TaplineProcess.run(CLI, "buffer", "discard", "--buffer", b, "--volume", "vol1",
                    "--from-seq", Long.toString(before + 1), "--to-seq", Long.toString(bulkEnd), "--json")
                    .orFail("buffer discard").output();
            assertTrue(out.contains("discarded"), out);
            TaplineProcess.run(CLI, "ship", "resume", "--buffer", b, "--volume", "vol1").orFail("ship resume");
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1", "--kind", "GAP").orFail("audit list").output();
            assertTrue(audit.contains("discarded by"), "the replica audited who discarded: " + audit);
            JsonNode v = volumeStatus(rig);
            // Blocks the later host writes rewrote reached the replica as records: the resync skips them.
            assertTrue(v.get("resync").get("bytesSent").asLong() >= (7L << 20),
                    "the discarded chunks came by resync: " + v);
        }
    }

    @Test
    void aWrongRemoteIsCorrectedOnTheRunningWedgeAndABadValueChangesNothing() throws Exception {
        InetSocketAddress wrong = new InetSocketAddress("127.0.0.1", Peers.freePort()); // nobody listens there
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE)) {
            rig.startReplayer();
            try (TaplineProcess wedge = TaplineProcess.start(dir.resolve("wedge-wrong.log"), "wedge", "--nbd",
                    ReplicationRig.hostPort(rig.nbdAddress), "--export", "vol1", "--volume", rig.primary().toString(),
                    "--size", Long.toString(SIZE), "--buffer", rig.buffer().toString(), "--remote",
                    ReplicationRig.hostPort(wrong), "--metrics", ReplicationRig.hostPort(rig.wedgeMetrics))
                    .awaitListening(rig.nbdAddress, ReplicationRig.START)) {
                HostWrites.random4k(rig, SIZE, 200, 8);
                String b = rig.buffer().toString();
                JsonNode remote = volumeStatus(rig).get("remotes").get(0);
                assertEquals(false, remote.get("connected").asBoolean(), remote.toString());

                Peers.Result bad = TaplineProcess.run(CLI, "config", "set", "--buffer", b, "--volume", "vol1",
                        "--remote", ReplicationRig.hostPort(wrong) + "=no-such-host.invalid:7070");
                assertEquals(2, bad.exitCode(), bad.output());
                assertEquals(1, bad.output().strip().lines().count(), "one line: " + bad.output());
                Peers.Result unknown = TaplineProcess.run(CLI, "config", "set", "--buffer", b, "--volume", "vol1",
                        "--remote", "127.0.0.1:1=" + ReplicationRig.hostPort(rig.linkAddress), "--resync-rate", "1M");
                assertEquals(1, unknown.exitCode(), unknown.output());
                assertTrue(unknown.output().contains("--remote: 127.0.0.1:1 (expected: one of"), unknown.output());
                assertTrue(wedge.isAlive(), "bad values never stop the wedge");

                TaplineProcess.run(CLI, "config", "set", "--buffer", b, "--volume", "vol1", "--remote",
                        ReplicationRig.hostPort(wrong) + "=" + ReplicationRig.hostPort(rig.linkAddress),
                        "--resync-rate", "64M").orFail("config set");
                HostWrites.random4k(rig, SIZE, 50, 9); // the host went on all along
                rig.awaitSynced(Duration.ofSeconds(60));
                rig.assertReplicaMatchesPrimary();
                // The link's meters follow the new address, as status does (they kept the old one).
                String page = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://" + ReplicationRig.hostPort(rig.wedgeMetrics) + "/metrics")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(page.lines().anyMatch(l -> l.startsWith("tapline_link_connected{")
                        && l.contains("remote=\"" + ReplicationRig.hostPort(rig.linkAddress) + "\"") && l.endsWith(" 1.0")),
                        page);
                assertFalse(page.contains("remote=\"" + ReplicationRig.hostPort(wrong) + "\""), page);
                List<String> trail = SourceTrail.withWho(rig.buffer(), ReplicationRig.EXPORT);
                String me = Actor.current();
                assertTrue(trail.stream().anyMatch(e -> e.startsWith("CONFIG " + me + " volume vol1: remote ")
                        && e.contains("now ships to " + ReplicationRig.hostPort(rig.linkAddress))
                        && e.contains("resync rate 67108864 bytes/s")), "who changed what, at the source: " + trail);
                assertTrue(trail.stream().anyMatch(e -> e.contains("config request refused: --remote: 127.0.0.1:1")),
                        trail.toString());
                SourceTrail.assertBegunAndEnded(SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT),
                        "link to " + ReplicationRig.hostPort(wrong) + " down");
            }
        }
    }

    private static int indexOf(List<String> trail, String prefix, String part) {
        for (int i = 0; i < trail.size(); i++) {
            if (trail.get(i).startsWith(prefix) && trail.get(i).contains(part)) {
                return i;
            }
        }
        return Integer.MAX_VALUE;
    }
}
