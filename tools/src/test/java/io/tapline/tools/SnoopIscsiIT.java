package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live passive capture of iSCSI on {@code lo}: tgtd (user-space target, its own portal port and
 * control port) serves LUNs backed by files; libiscsi initiators (qemu-img convert, qemu-io)
 * write; {@code tapline snoop} captures and ships to a replayer. Each replica must end
 * byte-identical (md5) to tgtd's backing file. Needs root, tgt, qemu-utils and
 * qemu-block-extra (libiscsi); {@code .ci/run} installs them.
 */
class SnoopIscsiIT {
    private static final String IQN = "iqn.2024-01.test.tapline:snoop";
    private static final long LUN_BYTES = 48L << 20;
    private static final Duration PEER = SnoopRig.PEER;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void tgtdDefaultsReplicaMatchesBackingFile() throws Exception {
        runOneLun(List.of(), "");
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void tunedTargetWithUnsolicitedDataAndHeaderDigestReplicaMatchesBackingFile() throws Exception {
        runOneLun(List.of("MaxRecvDataSegmentLength=262144", "InitialR2T=No", "ImmediateData=Yes",
                "FirstBurstLength=262144", "HeaderDigest=CRC32C"), "header-digest=crc32c");
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void twoWritersOnTwoLunsAtOnceReplicasMatchBackingFiles() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun1 = dir.resolve("lun1.img");
            Path lun2 = dir.resolve("lun2.img");
            rig.startReplayer();
            rig.startSnoop(port);
            startTarget(rig, port, List.of(lun1, lun2), List.of());
            Path src1 = rig.randomFile("src1.bin", 24 << 20, 1);
            Path src2 = rig.randomFile("src2.bin", 24 << 20, 2);
            Process w1 = writer(rig, "writer1", "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src1.toString(),
                    uri(port, 1));
            Process w2 = writer(rig, "writer2", "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src2.toString(),
                    uri(port, 2));
            awaitExit(rig, w1, "writer1");
            awaitExit(rig, w2, "writer2");
            Peers.run(PEER, randomWrites(port, 1, 100, 11, "")).orFail("qemu-io lun 1");
            rig.awaitReplicaEquals(volumeName(1), lun1, Duration.ofMinutes(2));
            rig.awaitReplicaEquals(volumeName(2), lun2, Duration.ofMinutes(2));
        }
    }

    /**
     * A kernel capture buffer far too small for a writer at full speed: packets are dropped, the
     * snoop appends GAP records, and every surface says so: status never synced (the replica is
     * out of sync, gaps counted), the replica's audit log holds the GAP. A snoop cannot resync yet
     * (no read access to the LUN), so the state stays until an operator re-seeds the replica.
     */
    @Test
    void droppedPacketsLeaveTheReplicaOutOfSyncAndStatusNeverSynced() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun = dir.resolve("lun1.img");
            rig.startReplayer();
            // The drops may take the READ CAPACITY answer too: without the size the snoop starts no
            // shipper for the volume (status lists no remote), so the operator's fallback is given.
            rig.startSnoop(port, "--capture-buffer", "32K", "--volume-size", String.valueOf(LUN_BYTES));
            startTarget(rig, port, List.of(lun), List.of("MaxRecvDataSegmentLength=262144", "InitialR2T=No"));
            writeUntilDrops(rig, port, 43);
            Peers.Result status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer",
                    rig.buffer().toString(), "--wait-synced", "10");
            assertEquals(1, status.exitCode(), status.output());
            String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                    "--volume", volumeName(1), "--json").orFail("status --json").output();
            var v = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('{'))).get("volumes").get(0);
            assertTrue(v.get("gapRecords").asLong() > 0, json);
            assertTrue(v.get("trackedRanges").size() > 0, "the ranges a resync must compare are listed: " + json);
            assertEquals("out-of-sync", v.get("remotes").get(0).get("replica").asText(), json);
            assertTrue(json.contains("\"synced\" : false"), json);
            String audit = TaplineProcess.run(Duration.ofSeconds(60), "audit", "list", "--data",
                    dir.resolve("remote").toString(), "--volume", volumeName(1), "--kind", "gap", "--json")
                    .orFail("audit list").output();
            assertTrue(audit.contains("\"GAP\""), audit);
        }
    }

    /**
     * The same drops, with a read-only path to the LUN that the tap does not see (nbdkit serving its
     * backing store; on a real mirror port a {@code --source iscsi://} bridge session from the snoop
     * host is not mirrored either, but on {@code lo} it would be captured and, with this tiny
     * kernel buffer, drop packets itself): the snoop's resync engine compares the replica with the
     * LUN by checksum and ships what differs; status ends synced and the replica equals the LUN file
     * byte for byte.
     */
    @Test
    void droppedPacketsAreHealedByAResyncFromTheSource() throws Exception {
        int port = Peers.freePort();
        int sourcePort = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun = lunWithReadOnlySource(rig, sourcePort);
            rig.startReplayer();
            rig.startSnoop(port, "--capture-buffer", "32K", "--source",
                    volumeName(1) + "=nbd://127.0.0.1:" + sourcePort + "/");
            startTarget(rig, port, List.of(lun), List.of("MaxRecvDataSegmentLength=262144", "InitialR2T=No"));
            writeUntilDrops(rig, port, 44);
            Peers.run(PEER, randomWrites(port, 1, 100, 12, "")).orFail("qemu-io");
            String want = Peers.md5(lun);
            long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
            Peers.Result status = null;
            String got = "(no replica)";
            while (System.nanoTime() < deadline) {
                status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                        "--wait-synced", "20");
                if (status.exitCode() == 0 && Files.exists(rig.replica(volumeName(1)))) {
                    got = Peers.md5(rig.replica(volumeName(1)));
                    if (got.equals(want)) {
                        break;
                    }
                }
            }
            assertEquals(want, got, "replica == LUN after the resync\n" + (status == null ? "" : status.output())
                    + "\n--- snoop log:\n" + rig.snoop().logText());
            String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                    "--volume", volumeName(1), "--json").orFail("status --json").output();
            var v = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('{'))).get("volumes").get(0);
            assertTrue(v.get("gapRecords").asLong() > 0, "there were gaps to heal: " + json);
            assertTrue(v.get("resync").get("epochsCompleted").asLong() >= 1, json);
        }
    }

    /**
     * Operator controls on a live snoop (issue "acceptance suite", part 1): capture stopped, the
     * host's writes go on and their chunks are tracked; shipping stopped, the records wait; both
     * restarted, the resync from the source heals the tracked chunks and the replica equals the LUN.
     */
    @Test
    void captureAndShippingOfALiveSnoopStopAndRestart() throws Exception {
        int port = Peers.freePort();
        int sourcePort = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun = lunWithReadOnlySource(rig, sourcePort);
            rig.startReplayer();
            rig.startSnoop(port, "--source", volumeName(1) + "=nbd://127.0.0.1:" + sourcePort + "/");
            startTarget(rig, port, List.of(lun), List.of());
            Peers.run(PEER, randomWrites(port, 1, 100, 31, "")).orFail("qemu-io");
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(2));
            String b = rig.buffer().toString();
            TaplineProcess.run(Duration.ofSeconds(60), "capture", "pause", "--buffer", b, "--volume", volumeName(1))
                    .orFail("capture pause");
            TaplineProcess.run(Duration.ofSeconds(60), "ship", "pause", "--buffer", b, "--volume", volumeName(1))
                    .orFail("ship pause");
            Peers.run(PEER, randomWrites(port, 1, 100, 32, "")).orFail("qemu-io"); // the host goes on
            Peers.Result paused = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", b,
                    "--wait-synced", "2");
            assertEquals(1, paused.exitCode(), paused.output());
            assertTrue(paused.output().contains("capture paused"), paused.output());
            TaplineProcess.run(Duration.ofSeconds(60), "ship", "resume", "--buffer", b, "--volume", volumeName(1))
                    .orFail("ship resume");
            TaplineProcess.run(Duration.ofSeconds(60), "capture", "resume", "--buffer", b, "--volume", volumeName(1))
                    .orFail("capture resume");
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(3), true);
        }
    }

    /**
     * The snoop's own read path to an iSCSI LUN ({@code --source VOLUME=iscsi://...}: qemu-nbd through
     * libiscsi, a second read-only session beside the host's, on a port of its own): capture stopped
     * while the host writes, restarted, and the tracked chunks are healed by reading the LUN through
     * that bridge. The bridge's session crosses the tapped {@code lo} too; its reads are not captured.
     */
    @Test
    void capturePausedThenResumedIsHealedThroughTheIscsiBridge() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun = dir.resolve("lun1.img");
            try (var f = new java.io.RandomAccessFile(lun.toFile(), "rw")) {
                f.setLength(LUN_BYTES);
            }
            rig.startReplayer();
            rig.startSnoop(port, "--source", volumeName(1) + "=" + uri(port, 1));
            startTarget(rig, port, List.of(lun), List.of());
            Peers.run(PEER, randomWrites(port, 1, 100, 33, "")).orFail("qemu-io");
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(2));
            String b = rig.buffer().toString();
            TaplineProcess.run(Duration.ofSeconds(60), "capture", "pause", "--buffer", b, "--volume", volumeName(1))
                    .orFail("capture pause");
            Peers.run(PEER, randomWrites(port, 1, 100, 34, "")).orFail("qemu-io"); // the host goes on
            TaplineProcess.run(Duration.ofSeconds(60), "capture", "resume", "--buffer", b, "--volume", volumeName(1))
                    .orFail("capture resume");
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(3), true);
            assertTrue(rig.snoop().logText().contains("resync source volume=" + volumeName(1) + " source=iscsi://"),
                    "the resync read through the bridge:\n" + rig.snoop().logText());

            // kill -9 leaves the bridge running (qemu-nbd --persistent, its iSCSI session open); the next start stops it.
            Path pidFile = rig.buffer().resolve(volumeName(1)).resolve(SnoopVolumes.BRIDGE_PID_FILE);
            long leftover = Long.parseLong(Files.readString(pidFile).strip());
            rig.snoop().kill9();
            assertTrue(ProcessHandle.of(leftover).map(ProcessHandle::isAlive).orElse(false), "the bridge outlived it");
            rig.startSnoop(port, "--source", volumeName(1) + "=" + uri(port, 1));
            // The restarted snoop starts its source when the host's next session shows the volume.
            Peers.run(PEER, randomWrites(port, 1, 10, 35, "")).orFail("qemu-io");
            Poll.until(Duration.ofSeconds(60), () -> "the leftover bridge " + leftover + " was stopped:\n"
                    + rig.snoop().logText(), () -> !ProcessHandle.of(leftover).map(ProcessHandle::isAlive).orElse(false));
            assertFalse(ProcessHandle.of(leftover).map(ProcessHandle::isAlive).orElse(false));
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(3), true);
        }
    }

    /**
     * An empty LUN backing file and nbdkit serving it read-only on {@code sourcePort}: the path to
     * the tapped volume a snoop's {@code --source} reads (not on the tapped port).
     */
    private Path lunWithReadOnlySource(SnoopRig rig, int sourcePort) throws Exception {
        Path lun = dir.resolve("lun1.img");
        try (var f = new java.io.RandomAccessFile(lun.toFile(), "rw")) {
            f.setLength(LUN_BYTES);
        }
        rig.startPeer("nbdkit", "nbdkit", "-f", "-r", "-i", "127.0.0.1", "-p", Integer.toString(sourcePort),
                "file", lun.toString());
        Peers.awaitPort(sourcePort, Duration.ofSeconds(30));
        return lun;
    }

    /**
     * Writes LUN 1 at full speed, a session at a time, until the kernel dropped packets and LUN 1's
     * volume holds a GAP record. Both are needed: the drops of a round can hit the session's login
     * and LUN probe (then the snoop never learns the volume, and its drops are that session's
     * alone), so one round with drops does not always leave a volume with a gap.
     */
    private void writeUntilDrops(SnoopRig rig, int port, long seed) throws Exception {
        Path src = rig.randomFile("src.bin", 32 << 20, seed);
        long drops = 0;
        boolean gap = false;
        for (int round = 0; round < 8 && !(drops > 0 && gap); round++) {
            Peers.run(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), uri(port, 1))
                    .orFail("qemu-img convert");
            drops = reportedDrops(rig, Duration.ofSeconds(2)); // counters are rewritten every 200 ms
            gap = drops > 0 && gapRecorded(rig, volumeName(1));
        }
        assertTrue(drops > 0, "a 32 KiB kernel buffer drops packets of a full-speed writer");
        assertTrue(gap, "drops leave a GAP record in volume " + volumeName(1));
    }

    /** Whether the buffer knows {@code volume} and it holds a GAP record. */
    private static boolean gapRecorded(SnoopRig rig, String volume) throws Exception {
        Peers.Result r = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                "--volume", volume, "--json");
        if (r.exitCode() != 0) {
            return false; // the volume is not in the buffer yet
        }
        String json = r.output();
        var v = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('{'))).get("volumes").get(0);
        return v.get("gapRecords").asLong() > 0;
    }

    /** Drops the snoop reports, polled until they are non-zero or {@code within} ends. */
    private static long reportedDrops(SnoopRig rig, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            CaptureStatusFile c = CaptureStatusFile.read(rig.buffer());
            long drops = c == null ? 0 : c.drops();
            if (drops > 0 || System.nanoTime() > deadline) {
                return drops;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
        }
    }

    private void runOneLun(List<String> targetParams, String initiatorOpts) throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun = dir.resolve("lun1.img");
            rig.startReplayer();
            rig.startSnoop(port);
            startTarget(rig, port, List.of(lun), targetParams);
            // random data with a zero stretch, so that qemu-img may send WRITE SAME / UNMAP as well
            Path src = rig.randomFile("src.bin", 32 << 20, 42);
            byte[] zeroes = new byte[2 << 20];
            try (var ch = java.nio.channels.FileChannel.open(src, java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(zeroes), 8L << 20);
            }
            List<String> convert = new ArrayList<>(List.of("qemu-img", "convert", "-n", "-f", "raw"));
            if (initiatorOpts.isEmpty()) {
                convert.addAll(List.of("-O", "raw", src.toString(), uri(port, 1)));
            } else {
                convert.addAll(List.of("--target-image-opts", src.toString(), imageOpts(port, 1, initiatorOpts)));
            }
            Peers.run(PEER, convert).orFail("qemu-img convert");
            Peers.run(PEER, randomWrites(port, 1, 200, 7, initiatorOpts)).orFail("qemu-io");
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(2));
        }
    }

    /** tgtd on 127.0.0.1:{@code port} with one target, one LUN of {@link #LUN_BYTES} per file. */
    private void startTarget(SnoopRig rig, int port, List<Path> luns, List<String> params) throws Exception {
        rig.startTgtd(port, IQN, luns, LUN_BYTES, params);
    }

    private static String uri(int port, int lun) {
        return "iscsi://127.0.0.1:" + port + "/" + IQN + "/" + lun;
    }

    private static String imageOpts(int port, int lun, String extra) {
        return "driver=iscsi,transport=tcp,portal=127.0.0.1:" + port + ",target=" + IQN + ",lun=" + lun
                + (extra.isEmpty() ? "" : "," + extra);
    }

    /** {@code count} random 4 KiB writes with distinct patterns and a flush, in one qemu-io session. */
    private static List<String> randomWrites(int port, int lun, int count, long seed, String initiatorOpts) {
        List<String> cmd = new ArrayList<>(List.of("qemu-io"));
        if (initiatorOpts.isEmpty()) {
            cmd.addAll(List.of("-f", "raw"));
        } else {
            cmd.add("--image-opts");
        }
        Random rnd = new Random(seed);
        for (int i = 0; i < count; i++) {
            long offset = (long) rnd.nextInt((int) (LUN_BYTES / 4096)) * 4096;
            cmd.add("-c");
            cmd.add("write -P " + (1 + rnd.nextInt(255)) + " " + offset + " 4k");
        }
        cmd.add("-c");
        cmd.add("flush");
        cmd.add(initiatorOpts.isEmpty() ? uri(port, lun) : imageOpts(port, lun, initiatorOpts));
        return cmd;
    }

    private Process writer(SnoopRig rig, String name, String... cmd) throws Exception {
        return rig.startPeer(name, cmd);
    }

    private void awaitExit(SnoopRig rig, Process p, String name) throws Exception {
        if (!p.waitFor(PEER.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
            throw new AssertionError(name + " failed or hung:\n" + Files.readString(dir.resolve(name + ".log")));
        }
    }


    private static String volumeName(int lun) {
        return SnoopRig.iscsiVolume(IQN, lun);
    }
}
