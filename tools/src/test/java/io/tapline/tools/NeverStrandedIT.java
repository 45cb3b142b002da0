package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica that falls out of step comes back by checksum resync, and status never says synced
 * before it has: after a rollback older than the buffer, after the primary changed behind
 * Tapline's back, and after the source died in the middle of a resync (the replica is rolled
 * back to its last consistent point byte for byte, then healed).
 */
class NeverStrandedIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    private static void qemuWrites(ReplicationRig rig, long sizeBytes, int count, int seed) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        Random rnd = new Random(seed);
        for (int i = 0; i < count; i++) {
            long offset = (long) rnd.nextInt((int) (sizeBytes / 4096)) * 4096;
            cmd.add("-c");
            cmd.add("write -P " + (1 + rnd.nextInt(255)) + " " + offset + " 4k");
        }
        cmd.add("-c");
        cmd.add("flush");
        cmd.add(rig.uri());
        Peers.run(PEER, cmd).orFail("qemu-io");
    }

    private static Path randomFile(Path file, int mib, long seed) throws Exception {
        byte[] block = new byte[1 << 20];
        Random random = new Random(seed);
        try (var out = Files.newOutputStream(file)) {
            for (int i = 0; i < mib; i++) {
                random.nextBytes(block);
                out.write(block);
            }
        }
        return file;
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(), "--json").output();
        return Json.mapper().readTree(json.substring(json.indexOf('{')));
    }

    @Test
    void rollbackOlderThanTheBufferThenResumeEndsInAFullResync() throws Exception {
        long size = 32L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size)) {
            rig.startReplayer();
            rig.startWedge("--segment-size", "1M");
            qemuWrites(rig, size, 300, 1);
            TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume", "vol1", "m1")
                    .orFail("mark");
            qemuWrites(rig, size, 3000, 2); // 12 MiB of records: the mark's segment is acknowledged and deleted
            rig.awaitSynced(Duration.ofSeconds(60));
            String remote = ReplicationAddresses.hostPort(rig.linkAddress);
            TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1", "--to-mark", "m1")
                    .orFail("rollback");
            Peers.Result paused = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(),
                    "--wait-synced", "3");
            assertEquals(1, paused.exitCode(), "a paused replica is not synced: " + paused.output());
            TaplineProcess.run(CLI, "resume", "--remote", remote, "--volume", "vol1").orFail("resume");
            qemuWrites(rig, size, 100, 3); // the host goes on meanwhile
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            JsonNode v = status(rig).get("volumes").get(0);
            assertTrue(v.get("resync").get("full").asBoolean(), v.toString());
            assertTrue(v.get("remotes").get(0).get("lastError").isNull(), "the error is gone once the link is up: " + v);
            TaplineProcess.run(CLI, "audit", "verify", "--data", dir.resolve("remote").toString(), "--volume", "vol1")
                    .orFail("audit verify");
        }
    }

    @Test
    void rollbackInsideTheBufferThenResumeResendsWhatTheReplicaLost() throws Exception {
        long size = 32L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            qemuWrites(rig, size, 200, 4);
            TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume", "vol1", "m1")
                    .orFail("mark");
            qemuWrites(rig, size, 200, 5);
            rig.awaitSynced(Duration.ofSeconds(60));
            String remote = ReplicationAddresses.hostPort(rig.linkAddress);
            TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1", "--to-mark", "m1")
                    .orFail("rollback");
            TaplineProcess.run(CLI, "resume", "--remote", remote, "--volume", "vol1").orFail("resume");
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            assertEquals(0, status(rig).get("volumes").get(0).get("resync").get("epochsCompleted").asLong(),
                    "re-sent from the buffer, no resync needed");
        }
    }

    @Test
    void explicitResyncShipsOnlyTheBlocksChangedBehindTaplinesBack() throws Exception {
        long size = 64L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Path source = randomFile(dir.resolve("source.img"), 16, 7);
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.wedge().close();
            long[] offsets = {0, 4096 * 7, 5L << 20, (16L << 20) + 8192, size - 4096};
            try (RandomAccessFile f = new RandomAccessFile(rig.primary().toFile(), "rw")) {
                for (long off : offsets) {
                    f.seek(off);
                    f.write(new byte[] {(byte) 0xEE, 1, 2, 3});
                }
            }
            assertNotEquals(Peers.md5(rig.primary()), Peers.md5(rig.replica()));
            rig.startWedge();
            String out = TaplineProcess.run(CLI, "resync", "--buffer", rig.buffer().toString(), "--volume", "vol1",
                    "--full", "--json").orFail("resync").output();
            JsonNode result = Json.mapper().readTree(out.substring(out.indexOf('{')));
            assertEquals(offsets.length * 4096L, result.get("bytesSent").asLong(), out);
            assertEquals(size, result.get("bytesCompared").asLong(), out);
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
        }
    }

    @Test
    void sourceKilledMidResyncLeavesAReplicaThatRollsBackToItsLastConsistentImage() throws Exception {
        long size = 192L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw",
                    randomFile(dir.resolve("a.img"), 192, 8).toString(), rig.uri());
            rig.awaitSynced(Duration.ofSeconds(120));
            String before = Peers.md5(rig.replica());
            rig.wedge().close();
            Files.copy(randomFile(dir.resolve("b.img"), 192, 9), rig.primary(),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            rig.startWedge("--resync-rate", "24M");
            TaplineProcess resync = TaplineProcess.start(dir.resolve("resync.log"), "resync", "--buffer",
                    rig.buffer().toString(), "--volume", "vol1", "--full");
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long sent = 0;
            while (sent < (16L << 20) && System.nanoTime() < deadline) {
                JsonNode r = status(rig).get("volumes").get(0).get("resync");
                sent = r.isNull() ? 0 : r.get("bytesSent").asLong();
            }
            assertTrue(sent >= 16L << 20, "the resync was under way");
            rig.wedge().kill9();
            resync.close();
            String remote = ReplicationAddresses.hostPort(rig.linkAddress);
            String out = TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1",
                    "--to-last-consistent", "--json").orFail("rollback --to-last-consistent").output();
            assertEquals(before, Peers.md5(rig.replica()), "byte for byte the pre-resync replica\n" + out);
            TaplineProcess.run(CLI, "resume", "--remote", remote, "--volume", "vol1").orFail("resume");
            rig.startWedge();
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();
        }
    }
}
