package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replayer's {@code --data} folder on a real, small ext4 (issue 8 items 14 and 6): real host
 * writes through a wedge fill it, first with the replica's new blocks, then (the same range
 * overwritten) with the undo log's before-images; each time the replica fails cleanly (status says failed or refused with "No space
 * left on device", both processes live on) and, once space is freed (a filler file on that file
 * system is deleted), heals by itself, without a restart: md5 of the replica equals md5 of the
 * wedge's primary and every captured record is acknowledged.
 *
 * <p>Needs root and loop devices (CI has them); the file system is unmounted and its loop device
 * detached whatever happens.
 */
class ReplicaSmallDiskIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(60);
    private static final long VOLUME_BYTES = 256L << 20;
    private static final long FS_BYTES = 256L << 20;
    private static final long FREE_LEFT_BYTES = 40L << 20;
    private static final int HOST_MIB = 96;

    @TempDir
    Path dir;

    @Test
    void fullReplicaDiskFailsCleanlyAndHealsWhenSpaceReturns() throws Exception {
        Path fsImage = dir.resolve("replica-fs.img");
        try (var f = new java.io.RandomAccessFile(fsImage.toFile(), "rw")) {
            f.setLength(FS_BYTES);
        }
        Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-m", "0", fsImage.toString());
        String loop = Peers.ok(PEER, "losetup", "-f", "--show", fsImage.toString()).trim();
        Path remote = Files.createDirectories(dir.resolve("remote"));
        boolean mounted = false;
        try {
            Peers.ok(PEER, "mount", loop, remote.toString());
            mounted = true;
            try (ReplicationRig rig = new ReplicationRig(dir, VOLUME_BYTES).start()) {
                // 1. New data: the replica's blocks do not fit.
                fullThenFreed(rig, remote, 1);
                // 2. The same range overwritten: the replica needs no new block, its before-images do
                //    (the undo log's disk is full).
                fullThenFreed(rig, remote, 2);
                assertTrue(rig.replayer().logText().contains("volume healed"), "healed in place");
            }
        } finally {
            if (mounted) {
                Peers.run(PEER, "umount", remote.toString());
            }
            Peers.run(PEER, "losetup", "-d", loop);
        }
    }

    /**
     * Leaves {@link #FREE_LEFT_BYTES} free on the replayer's file system (a filler file), writes
     * {@link #HOST_MIB} MiB of new random data at offset 0 through the wedge, waits for the clean
     * failure, deletes the filler and waits for the healed, identical replica.
     */
    private void fullThenFreed(ReplicationRig rig, Path remote, int round) throws Exception {
        Path filler = remote.resolve("filler-" + round);
        fill(filler, Files.getFileStore(remote).getUsableSpace() - FREE_LEFT_BYTES);
        Path data = HostWrites.randomFile(dir.resolve("host-" + round + ".img"), HOST_MIB, round);
        long t0 = System.nanoTime();
        // The host is never held up by the replica's disk: the write completes at once.
        Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", data.toString(), rig.uri());

        JsonNode[] r = {null};
        Poll.until(Duration.ofSeconds(120), () -> "round " + round + ": the replica to report the full disk: " + r[0]
                + "\n--- replayer log:\n" + rig.replayer().logText(),
                Poll.of(() -> says(r[0] = remoteStatus(rig), "No space left on device")));
        long failedMillis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(!r[0].get("replica").asText().equals("consistent"), r[0].toString());
        assertTrue(rig.replayer().isAlive() && rig.wedge().isAlive(), "nothing crashed");
        // The replayer's own view: failed while the disk stays full (between retries too).
        Poll.until(Duration.ofSeconds(30), () -> "tapline_replay_failed 1", Poll.of(
                () -> ReplicationRig.metric(rig.replayMetrics, "tapline_replay_failed") == 1.0));

        Files.delete(filler); // space returns; no restart
        long t1 = System.nanoTime();
        rig.awaitSynced(Duration.ofSeconds(180));
        rig.assertReplicaMatchesPrimary();
        JsonNode healed = remoteStatus(rig);
        assertEquals("consistent", healed.get("replica").asText(), healed.toString());
        assertEquals(0.0, ReplicationRig.metric(rig.replayMetrics, "tapline_replay_failed"));
        assertEquals(status(rig).get("captured").asLong(), healed.get("acked").asLong(),
                "every captured record acknowledged: " + healed);
        System.out.printf("replica-small-disk round=%d failedAfterMillis=%d healedAfterMillis=%d reopens=%d"
                + " undoBytes=%d reason=%s%n", round, failedMillis, (System.nanoTime() - t1) / 1_000_000,
                healedCount(rig), undoBytes(remote), r[0].get("replicaReason").asText());
    }

    private static long undoBytes(Path remote) throws Exception {
        try (var s = Files.list(remote.resolve(ReplicationRig.EXPORT).resolve("undo"))) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static int healedCount(ReplicationRig rig) {
        return count(rig.replayer().logText(), "volume healed volume=vol1 ");
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** Whether the remote's state, reason or last error mentions {@code what}. */
    private static boolean says(JsonNode remote, String what) {
        return remote.get("replicaReason").asText("").contains(what) || remote.get("lastError").asText("").contains(what);
    }

    private static void fill(Path file, long bytes) throws Exception {
        byte[] block = new byte[1 << 20];
        java.util.Arrays.fill(block, (byte) 0x5A);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long n = 0; n < bytes; n += block.length) {
                out.write(block, 0, (int) Math.min(block.length, bytes - n));
            }
        }
        Peers.ok(PEER, "sync", file.toString());
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(), "--json").output();
        return Json.mapper().readTree(json.substring(json.indexOf('{'))).get("volumes").get(0);
    }

    private static JsonNode remoteStatus(ReplicationRig rig) throws Exception {
        return status(rig).get("remotes").get(0);
    }
}
