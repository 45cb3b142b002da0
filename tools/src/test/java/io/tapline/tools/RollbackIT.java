package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mark, point-in-time image, rollback, the pause policy and kill -9 during a rollback, with a
 * real wedge and replayer process and qemu-io writing through NBD.
 */
class RollbackIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);
    private static final long SIZE = 32L << 20;

    @TempDir
    Path dir;

    private static void qemuWrites(ReplicationRig rig, int count, int seed) throws Exception {
        HostWrites.random4k(rig, SIZE, count, seed);
    }

    private Path snapshot(Path file, String name) throws Exception {
        Path copy = dir.resolve(name);
        Files.copy(file, copy);
        return copy;
    }

    private String image(ReplicationRig rig, String... point) throws Exception {
        Path out = dir.resolve("image-" + System.nanoTime() + ".img");
        List<String> args = new ArrayList<>(List.of("image", "--data", dir.resolve("remote").toString(), "--volume",
                "vol1", "--out", out.toString()));
        args.addAll(List.of(point));
        String said = TaplineProcess.run(CLI, args.toArray(String[]::new)).orFail("image").output();
        assertTrue(said.contains("the source's volume was in this state"), "a synced replica's history: " + said);
        return Peers.md5(out);
    }

    @Test
    void markImageRollbackAndPausePolicy() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            qemuWrites(rig, 300, 1);
            rig.awaitSynced(Duration.ofSeconds(60));
            String good = Peers.md5(snapshot(rig.primary(), "good.img"));
            String json = TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume", "vol1",
                    "--json", "before-upgrade").orFail("mark").output();
            long markSeq = io.tapline.tools.cli.Json.mapper().readTree(json).get("sequence").asLong();
            assertTrue(markSeq > 300, json);

            qemuWrites(rig, 300, 2);
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "discard 0 8M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            assertNotEquals(good, Peers.md5(rig.replica()));

            assertEquals(good, image(rig, "--mark", "before-upgrade"), "image at the mark");
            assertEquals(good, image(rig, "--seq", Long.toString(markSeq)), "image at the mark's sequence");

            String remote = ReplicationAddresses.hostPort(rig.linkAddress);
            Peers.Result r = TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1",
                    "--to-mark", "before-upgrade", "--json");
            r.orFail("rollback");
            String out = r.output().substring(r.output().indexOf('{'));
            assertEquals(markSeq, io.tapline.tools.cli.Json.mapper().readTree(out).get("sequence").asLong(), r.output());
            assertEquals(good, Peers.md5(rig.replica()), "replica rolled back to the mark");

            // Policy: the volume is paused; the source is refused with the reason until resumed.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!rig.wedge().logText().contains("volume vol1 rolled back to seq " + markSeq)
                    && System.nanoTime() < deadline) {
                rig.wedge().awaitExit(50);
            }
            assertTrue(rig.wedge().logText().contains("volume vol1 rolled back to seq " + markSeq + "; resume with"
                    + " `tapline resume` (the source then re-sends or resyncs what the replica lacks)"), rig.wedge().logText());
            assertEquals(good, Peers.md5(rig.replica()), "no source write lands while paused");

            Peers.Result again = TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1",
                    "--to-seq", Long.toString(markSeq + 1));
            assertEquals(1, again.exitCode(), again.output());
            assertTrue(again.output().contains("tapline: target seq " + (markSeq + 1) + " (expected: 0.." + markSeq),
                    again.output());
            TaplineProcess.run(CLI, "resume", "--remote", remote, "--volume", "vol1").orFail("resume");

            String data = dir.resolve("remote").toString();
            TaplineProcess.run(CLI, "audit", "verify", "--data", data, "--volume", "vol1").orFail("audit verify");
            String rollbacks = TaplineProcess.run(CLI, "audit", "list", "--data", data, "--volume", "vol1", "--kind",
                    "rollback,mark", "--json").orFail("audit list").output();
            var tree = io.tapline.tools.cli.Json.mapper().readTree(rollbacks.substring(rollbacks.indexOf('[')));
            assertEquals(2, tree.size(), rollbacks);
            assertEquals("MARK", tree.get(0).get("type").asText());
            assertEquals("before-upgrade", tree.get(0).get("detail").asText());
            assertEquals("ROLLBACK", tree.get(1).get("type").asText());
            assertEquals(markSeq, tree.get(1).get("toSequence").asLong());
            String csv = TaplineProcess.run(CLI, "audit", "export", "--data", data, "--volume", "vol1", "--format", "csv",
                    "--offset-range", "0:4096").orFail("audit export").output();
            assertTrue(csv.contains("index,logged,type"), csv);
        }
    }

    @Test
    void killNineDuringRollbackLeavesTheReplicaAtTheTargetAfterRestart() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            qemuWrites(rig, 200, 3);
            rig.awaitSynced(Duration.ofSeconds(60));
            String base = Peers.md5(snapshot(rig.primary(), "base.img"));
            TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume", "vol1", "base")
                    .orFail("mark base");
            qemuWrites(rig, 2500, 10);
            qemuWrites(rig, 2500, 11);
            rig.awaitSynced(Duration.ofSeconds(120));
            String mid = Peers.md5(snapshot(rig.primary(), "mid.img"));
            TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume", "vol1", "mid")
                    .orFail("mark mid");
            qemuWrites(rig, 2500, 12);
            qemuWrites(rig, 2500, 13);
            rig.awaitSynced(Duration.ofSeconds(120));
            String remote = ReplicationAddresses.hostPort(rig.linkAddress);
            String[][] rounds = {{"mid", "1", mid}, {"base", "6", base}};
            for (String[] round : rounds) {
                Path log = dir.resolve("rollback-" + round[0] + ".log");
                TaplineProcess cli = TaplineProcess.start(log, "rollback", "--remote", remote, "--volume", "vol1",
                        "--to-mark", round[0]);
                int lines = Integer.parseInt(round[1]);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (cli.logText().split("undo records applied", -1).length - 1 < lines
                        && System.nanoTime() < deadline && !cli.awaitExit(5)) {
                    Thread.onSpinWait();
                }
                rig.replayer().kill9();
                cli.close();
                rig.startReplayer();
                // The restarted replayer finishes the interrupted rollback before it serves anyone.
                long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (Files.exists(dir.resolve("remote/vol1/rollback.intent")) && System.nanoTime() < until) {
                    rig.replayer().awaitExit(20);
                }
                TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1", "--to-mark", round[0])
                        .orFail("rollback after restart");
                assertEquals(round[2], Peers.md5(rig.replica()), "replica at mark " + round[0] + " after kill -9 at "
                        + lines + " progress lines\n" + cli.logText());
            }
        }
    }
}
