package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.IOException;
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
        HostWrites.random4k(rig, sizeBytes, count, seed);
    }

    private static Path randomFile(Path file, int mib, long seed) throws Exception {
        return HostWrites.randomFile(file, mib, seed);
    }

    /**
     * Replaces the primary (wedge stopped) with other random data, restarts the wedge with a slow
     * resync and starts {@code tapline resync --full}; returns once at least {@code sentBytes} were sent.
     */
    private TaplineProcess resyncUnderWay(ReplicationRig rig, int mib, long seed, long sentBytes) throws Exception {
        rig.wedge().close();
        Files.copy(randomFile(dir.resolve("b.img"), mib, seed), rig.primary(),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        rig.startWedge("--resync-rate", "12M"); // 8-16 s for the test's volumes: a window a loaded machine's status sees
        TaplineProcess resync = TaplineProcess.start(dir.resolve("resync.log"), "resync", "--buffer",
                rig.buffer().toString(), "--volume", "vol1", "--full");
        awaitSent(rig, sentBytes);
        return resync;
    }

    /** Waits until the resync under way (the one the replaced primary starts by itself) sent {@code sentBytes}. */
    private static void awaitSent(ReplicationRig rig, long sentBytes) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long sent = 0;
        while (sent < sentBytes && System.nanoTime() < deadline) {
            JsonNode r = status(rig).get("volumes").get(0).get("resync");
            sent = r.isNull() ? 0 : r.get("bytesSent").asLong();
        }
        assertTrue(sent >= sentBytes, "the resync was under way: " + sent + " bytes sent after 60 s");
    }

    /** {@code count} random 4 KiB host writes, the replica synced, then the wedge stopped cleanly. */
    private static void writtenSyncedAndWedgeStopped(ReplicationRig rig, long size, int count, int seed) throws Exception {
        qemuWrites(rig, size, count, seed);
        rig.awaitSynced(Duration.ofSeconds(60));
        rig.wedge().close();
    }

    /** Writes {@code mib} MiB of random data through the wedge and waits until the replica has it. */
    private void fillAndSync(ReplicationRig rig, int mib, long seed) throws Exception {
        Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw",
                randomFile(dir.resolve("a.img"), mib, seed).toString(), rig.uri());
        rig.awaitSynced(Duration.ofSeconds(120));
    }

    /** {@code tapline resync --full --json}; its final status. */
    private static JsonNode fullResync(ReplicationRig rig, Duration timeout) throws Exception {
        String out = TaplineProcess.run(timeout, "resync", "--buffer", rig.buffer().toString(), "--volume", "vol1",
                "--full", "--json").orFail("resync").output();
        return Json.mapper().readTree(out.substring(out.indexOf('{')));
    }

    /** Writes {@code bytes} (each an unsigned byte's value) at each offset of {@code image} behind Tapline's back. */
    private static void scribble(Path image, long[] offsets, int... bytes) throws IOException {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) bytes[i];
        }
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            for (long off : offsets) {
                f.seek(off);
                f.write(b);
            }
        }
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
    void aPrimaryWrittenByAnotherProgramWhileTheWedgeServesItIsResyncedByItself() throws Exception {
        long size = 64L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Path source = randomFile(dir.resolve("source.img"), 16, 11);
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            assertFalse(rig.wedge().logText().contains("while the wedge served it"), "the host's own writes are its own");
            long[] offsets = {4096 * 3, 9L << 20, size - 8192};
            scribble(rig.primary(), offsets, 0xEE, 4, 5); // as dd or a loop mount would, beside the running wedge
            Poll.until(Duration.ofSeconds(20), () -> "the wedge's watch noticed the primary changed", Poll.of(
                    () -> rig.wedge().logText().contains("was changed by another program while the wedge served it")));
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            JsonNode resync = status(rig).get("volumes").get(0).get("resync");
            assertEquals(offsets.length * 4096L, resync.get("bytesSent").asLong(), resync.toString());
            assertEquals(1, resync.get("epochsCompleted").asLong(), "one resync, by itself: " + resync);
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            assertTrue(audit.contains("tracked: whole volume (the primary image was changed by another program while"
                    + " the wedge served it)"), audit);
            java.util.List<String> trail = SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT);
            SourceTrail.assertBegunAndEnded(trail, "whole volume (the primary image was changed by another program"
                    + " while the wedge served it) awaiting resync");
        }
    }

    /**
     * A disk that held data before Tapline was put in front of it: the first wedge (a new buffer)
     * must not call a new, empty replica synced. Every chunk is tracked, and a resync seeds the
     * replica with what the primary held, by itself.
     */
    @Test
    void aPrimaryThatHeldDataBeforeTheFirstStartSeedsItsReplicaByItself() throws Exception {
        long size = 32L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size)) {
            Files.copy(randomFile(dir.resolve("before.img"), 12, 13), rig.primary());
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(rig.primary(),
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(size);
                ch.write(java.nio.ByteBuffer.allocate(1), size - 1); // sparse to the volume's size
            }
            rig.startWedge(); // no replayer yet: the first status is read before any resync can run
            JsonNode volume = status(rig).get("volumes").get(0);
            assertFalse(volume.get("synced").asBoolean(), volume.toString());
            assertTrue(volume.get("notSyncedBecause").toString().contains("whole volume (the primary held data before"
                    + " its first capture: the replicas must be seeded) awaiting resync"), volume.toString());
            rig.startReplayer();
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            JsonNode resync = status(rig).get("volumes").get(0).get("resync");
            assertEquals(12L << 20, resync.get("bytesSent").asLong(), "the data, not the holes: " + resync);
            SourceTrail.assertBegunAndEnded(SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT),
                    "whole volume (the primary held data before its first capture");
        }
    }

    /**
     * The buffer folder lost while the wedge was stopped (deleted, a disk replaced), its replica
     * holding more records than the new buffer will for a long time: the shipper refused ("replica
     * ... is at seq N but the capture buffer ends at seq M") until the host's writes carried the new
     * buffer past N. The new buffer now numbers past the replica, which a whole-volume resync heals.
     */
    @Test
    void aBufferLostWhileItsReplicaHeldMoreRecordsNumbersPastItAndHealsByItself() throws Exception {
        long size = 32L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            writtenSyncedAndWedgeStopped(rig, size, 400, 21);
            io.tapline.log.DurableFiles.deleteTree(rig.buffer());
            rig.startWedge();
            qemuWrites(rig, size, 5, 22);
            rig.awaitSynced(Duration.ofSeconds(90));
            rig.assertReplicaMatchesPrimary();
            assertTrue(rig.wedge().logText().contains("capture buffer numbers past a replica's history"),
                    rig.wedge().logText());
            JsonNode resync = status(rig).get("volumes").get(0).get("resync");
            assertEquals(size, resync.get("bytesCompared").asLong(), "the whole volume compared: " + resync);
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            assertTrue(audit.contains("follows a history this buffer does not hold"), "on the replica's record: " + audit);
        }
    }

    /**
     * The primary grown while the wedge was stopped (a disk extended, with data already in the new
     * range): the replayer refused the larger volume for ever ("volume size mismatch"). The replica
     * now grows with it and the resync fills the new range.
     */
    @Test
    void aPrimaryGrownWhileTheWedgeWasStoppedGrowsItsReplicaAndTheResyncFillsIt() throws Exception {
        long size = 32L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            writtenSyncedAndWedgeStopped(rig, size, 50, 31);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(rig.primary(),
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(Files.readAllBytes(randomFile(dir.resolve("grown.img"), 1, 32))),
                        size + (8L << 20));
                ch.write(java.nio.ByteBuffer.allocate(1), 2 * size - 1);
            }
            rig.volumeSize(2 * size);
            rig.startWedge();
            qemuWrites(rig, 2 * size, 20, 33);
            rig.awaitSynced(Duration.ofSeconds(90));
            assertEquals(2 * size, Files.size(rig.replica()));
            rig.assertReplicaMatchesPrimary();
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            assertTrue(audit.contains("volume grew from " + size + " to " + 2 * size + " bytes"), audit);
        }
    }

    @Test
    void aPrimaryChangedWhileTheWedgeWasStoppedIsResyncedByItselfShippingOnlyTheChangedBlocks() throws Exception {
        long size = 64L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Path source = randomFile(dir.resolve("source.img"), 16, 7);
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.wedge().close();
            long[] offsets = {0, 4096 * 7, 5L << 20, (16L << 20) + 8192, size - 4096};
            scribble(rig.primary(), offsets, 0xEE, 1, 2, 3);
            assertNotEquals(Peers.md5(rig.primary()), Peers.md5(rig.replica()));
            rig.replayer().close(); // the wedge's first status is read before any resync can run
            rig.startWedge();
            JsonNode volume = status(rig).get("volumes").get(0);
            assertFalse(volume.get("synced").asBoolean(), volume.toString());
            assertTrue(volume.get("notSyncedBecause").toString().contains("whole volume (the primary image was changed"
                    + " while the wedge did not hold it) awaiting resync"), volume.toString());
            assertTrue(rig.wedge().logText().contains("was changed while the wedge did not hold it"), "named in the log");
            rig.startReplayer();
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            JsonNode resync = status(rig).get("volumes").get(0).get("resync");
            assertEquals(offsets.length * 4096L, resync.get("bytesSent").asLong(), resync.toString());
            assertEquals(size, resync.get("bytesCompared").asLong(), resync.toString());
            assertEquals(1, resync.get("epochsCompleted").asLong(), "one resync, by itself: " + resync);
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            assertTrue(audit.contains("tracked: whole volume (the primary image was changed while the wedge did not"
                    + " hold it)"), "the replica's audit log says why the epoch began: " + audit);
            java.util.List<String> trail = SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT);
            SourceTrail.assertBegunAndEnded(trail, "whole volume (the primary image was changed while the wedge did"
                    + " not hold it) awaiting resync");
        }
    }

    @Test
    void aReplicaChangedWhileTheReplayerWasStoppedIsFoundAndHealedByItself() throws Exception {
        healsAReplicaWrittenBehindItsBack(true, "was changed while the replayer did not hold it");
    }

    @Test
    void aReplicaWrittenWhileTheReplayerRunsIsNoticedAndHealedByItself() throws Exception {
        healsAReplicaWrittenBehindItsBack(false, "was changed by another program while the replayer held it");
    }

    /**
     * A synced replica written behind the replayer's back (stopped, or running with the host idle):
     * the replayer names it in its log, and the whole-volume resync it causes copies exactly the
     * blocks written, by itself.
     */
    private void healsAReplicaWrittenBehindItsBack(boolean replayerStopped, String logLine) throws Exception {
        long size = 32L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw",
                    randomFile(dir.resolve("source.img"), 8, 31).toString(), rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            if (replayerStopped) {
                rig.replayer().close();
            }
            long[] offsets = {8192, 9L << 20, size - 4096};
            scribble(rig.replica(), offsets, 0x11, 0x22);
            if (replayerStopped) {
                rig.startReplayer();
            }
            Poll.until(Duration.ofSeconds(20), rig.replayer()::logText, () -> rig.replayer().logText().contains(logLine));
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.assertReplicaMatchesPrimary();
            JsonNode resync = status(rig).get("volumes").get(0).get("resync");
            assertEquals(offsets.length * 4096L, resync.get("bytesSent").asLong(), resync.toString());
        }
    }

    /** A change the close-time stamp cannot see (it was lost with a crash, or predates it): the operator's resync. */
    @Test
    void fourGiBWithOnePercentOfBlocksChangedSendsOnlyThoseBlocks() throws Exception {
        long size = 4L << 30; // sparse: the comparison reads holes on both sides, the test stays quick
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x42 0 1M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.wedge().close();
            Files.delete(rig.buffer().resolve("vol1").resolve(PrimaryStamp.FILE));
            int blocks = (int) (size / 4096 / 100);
            Random rnd = new Random(17);
            java.util.BitSet chosen = new java.util.BitSet();
            while (chosen.cardinality() < blocks) {
                chosen.set(rnd.nextInt((int) (size / 4096)));
            }
            byte[] data = new byte[4096];
            try (RandomAccessFile f = new RandomAccessFile(rig.primary().toFile(), "rw")) {
                for (int b = chosen.nextSetBit(0); b >= 0; b = chosen.nextSetBit(b + 1)) {
                    rnd.nextBytes(data);
                    f.seek(b * 4096L);
                    f.write(data);
                }
            }
            rig.startWedge();
            JsonNode result = fullResync(rig, Duration.ofMinutes(10));
            String out = result.toString();
            long sent = result.get("bytesSent").asLong();
            assertEquals(blocks * 4096L, sent, "exactly the changed blocks cross: " + out);
            assertTrue(sent <= size / 50, "<= 2 % of the volume: " + out);
            rig.awaitSynced(Duration.ofSeconds(300));
            rig.assertReplicaMatchesPrimary();
        }
    }

    @Test
    void sourceKilledMidResyncLeavesAReplicaThatRollsBackToItsLastConsistentImage() throws Exception {
        long size = 192L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            fillAndSync(rig, 192, 8);
            String before = Peers.md5(rig.replica());
            TaplineProcess resync = resyncUnderWay(rig, 192, 9, 16L << 20);
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

    /**
     * The source stopped (SIGTERM: a maintenance restart, an upgrade) in the middle of a
     * whole-volume epoch: after its restart the epoch is resumed from the progress it had made
     * durable (resync.owed), not compared whole again. A kill -9 leaves the same file
     * (OwedChunksTest, ResyncEngineFaultTest), but its crash also tracks the activity log's hot
     * extents (up to 4 GiB, every extent the epoch had fixed on a volume this small).
     */
    @Test
    void sourceStoppedMidResyncResumesTheEpochAfterItsRestart() throws Exception {
        long size = 256L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x42 0 1M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.wedge().close();
            Files.copy(randomFile(dir.resolve("b.img"), 256, 41), rig.primary(),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            rig.startWedge("--resync-rate", "24M"); // compare requests of 64 MiB, one every ~2.7 s
            awaitSent(rig, 70L << 20); // two requests sent, the third under way
            rig.wedge().close();
            rig.startWedge();
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();
            String log = rig.wedge().logText();
            assertTrue(log.contains("was cut by the source's stop after comparing"), log);
            assertTrue(java.util.regex.Pattern.compile("resync epoch began .* full=false resumes=[0-9a-f]+")
                    .matcher(log).find(), log);
            java.util.regex.Matcher ended = java.util.regex.Pattern.compile("resync epoch ended .* comparedBytes=(\\d+)")
                    .matcher(log);
            assertTrue(ended.find() && Long.parseLong(ended.group(1)) <= size / 2,
                    "the resumed epoch compared what the cut one still owed:\n" + log);
        }
    }

    @Test
    void replayerKilledMidResyncComesBackAndTheResyncHealsTheReplica() throws Exception {
        long size = 128L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            fillAndSync(rig, 128, 21);
            rig.wedge().close();
            Files.copy(randomFile(dir.resolve("b.img"), 128, 22), rig.primary(),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            rig.startWedge("--resync-rate", "12M");
            awaitSent(rig, 8L << 20); // the whole-volume epoch the replaced primary starts by itself
            rig.replayer().kill9();
            Peers.Result during = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(),
                    "--wait-synced", "2");
            assertEquals(1, during.exitCode(), "never synced while the replayer is down mid-resync: " + during.output());
            rig.startReplayer();
            rig.awaitSynced(Duration.ofSeconds(240));
            rig.assertReplicaMatchesPrimary();
            // The epoch after the kill resumed the abandoned one over what it had not compared: not
            // the whole volume again (every lost link cost a whole-volume epoch before).
            String log = rig.wedge().logText();
            java.util.regex.Matcher began = java.util.regex.Pattern.compile(
                    "resync epoch began .* full=false resumes=([0-9a-f]+)").matcher(log);
            assertTrue(began.find(), "an epoch resumed the abandoned one:\n" + log);
            java.util.regex.Matcher ended = java.util.regex.Pattern.compile(
                    "resync epoch ended .* comparedBytes=(\\d+)").matcher(log);
            long lastCompared = -1;
            while (ended.find()) {
                lastCompared = Long.parseLong(ended.group(1));
            }
            assertTrue(lastCompared >= 0 && lastCompared < size, "the resuming epoch compared " + lastCompared
                    + " bytes of " + size + ":\n" + log);
        }
    }
}
