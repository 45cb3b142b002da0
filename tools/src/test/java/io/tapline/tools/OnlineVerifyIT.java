package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online verify while a host writes: bytes flipped in the replica behind the replayer's back (as
 * media corruption would, with its watch for other programs' writes off) are reported exactly (4 KiB blocks), writes in flight never are, and {@code --repair} ends with the
 * replica equal to the primary. The no-false-positive run lasts {@code -Dtapline.verify.seconds}
 * (default 60).
 */
class OnlineVerifyIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(300);
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    /** A host writing 64 KiB blocks at random offsets of {@code [fromMiB, toMiB)} until stopped. */
    private static Process writer(ReplicationRig rig, int fromMiB, int toMiB) throws Exception {
        String script = "while :; do qemu-io -f raw"
                + " -c \"write -P $((RANDOM % 255 + 1)) $(( (" + fromMiB * 16 + " + RANDOM % " + (toMiB - fromMiB) * 16
                + ") * 64 ))k 64k\""
                + " -c \"write -P $((RANDOM % 255 + 1)) $(( (" + fromMiB * 16 + " + RANDOM % " + (toMiB - fromMiB) * 16
                + ") * 64 ))k 64k\" " + rig.uri() + " >/dev/null || exit 1; done";
        return new ProcessBuilder("bash", "-c", script).redirectErrorStream(true)
                .redirectOutput(rig.dir.resolve("writer.log").toFile()).start();
    }

    private static void stop(Process p) throws Exception {
        p.destroy();
        p.waitFor();
        new ProcessBuilder("pkill", "-f", "qemu-io -f raw -c write -P").start().waitFor();
    }

    private static JsonNode verify(ReplicationRig rig, int expectedExit, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("verify", "--buffer", rig.buffer().toString(), "--volume", "vol1",
                "--json"));
        args.addAll(List.of(extra));
        Peers.Result r = TaplineProcess.run(CLI, args.toArray(String[]::new));
        assertEquals(expectedExit, r.exitCode(), r.output());
        String out = r.output();
        return Json.mapper().readTree(out.substring(out.indexOf('{'), out.lastIndexOf('}') + 1));
    }

    @Test
    void reportsExactlyTheFlippedRangesWhileTheHostWritesElsewhereAndRepairsThem() throws Exception {
        // The flipped bytes stand for corruption beneath the file system, which moves no change time: the
        // replayer's watch for other programs' writes (which would resync them first) is off here.
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE)
                .withReplayerJvmOptions("-Dtapline.replay.outsideWritesCheckMillis=0").start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x61 0 32M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            try (RandomAccessFile f = new RandomAccessFile(rig.replica().toFile(), "rw")) {
                f.seek((1L << 20) + 100);
                f.write(new byte[] {1, 2, 3, 4});
                f.seek(10L << 20);
                f.write(new byte[8192]);
                f.seek((20L << 20) + 4095);
                f.write(new byte[] {9, 9});
            }
            Process host = writer(rig, 40, 64);
            try {
                JsonNode report = verify(rig, 1).get("rounds").get(0);
                JsonNode ranges = report.get("ranges");
                assertEquals(3, ranges.size(), report.toString());
                assertRange(ranges.get(0), 1L << 20, 4096);
                assertRange(ranges.get(1), 10L << 20, 8192);
                assertRange(ranges.get(2), 20L << 20, 8192);
                JsonNode repaired = verify(rig, 0, "--repair");
                assertEquals(false, repaired.get("differs").asBoolean(), repaired.toString());
                JsonNode last = repaired.get("rounds").get(repaired.get("rounds").size() - 1);
                assertTrue(last.get("atSequence").asLong() > 0, "a clean round is at a sequence too: " + last);
            } finally {
                stop(host);
            }
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1", "--kind", "verify", "--json").orFail("audit list").output();
            assertTrue(audit.contains("3 differing ranges"), audit);
        }
    }

    /**
     * Real corruption beneath the replica's file system, with the replayer's watch for other
     * programs' writes on: the replica lives on an ext4 file system in a loop-mounted file, and
     * bytes of one of its blocks are changed in that backing file (found with FIEMAP, through
     * {@code filefrag}), so the replica's change time does not move and the watch cannot see it.
     * Verify must find exactly that block; the repair heals it. Needs root and loop devices.
     */
    @Test
    void findsCorruptionBeneathTheReplicasFileSystemWithItsWatchOn() throws Exception {
        Path fsImage = dir.resolve("replica-fs.img");
        try (RandomAccessFile f = new RandomAccessFile(fsImage.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0", fsImage.toString());
        String loop = Peers.ok(PEER, "losetup", "-f", "--show", fsImage.toString()).trim();
        Path remote = java.nio.file.Files.createDirectories(dir.resolve("remote"));
        boolean mounted = false;
        try {
            Peers.ok(PEER, "mount", loop, remote.toString());
            mounted = true;
            try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x61 0 32M", "-c", "flush", rig.uri());
                rig.awaitSynced(Duration.ofSeconds(60));
                long offset = 10L << 20;
                long onDisk = physicalOffset(rig.replica(), offset);
                try (RandomAccessFile f = new RandomAccessFile(fsImage.toFile(), "rw")) {
                    f.seek(onDisk + 100);
                    f.write(new byte[] {1, 2, 3, 4});
                    f.getFD().sync();
                }
                java.nio.file.Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3"); // the replica's clean pages
                try (RandomAccessFile f = new RandomAccessFile(rig.replica().toFile(), "r")) {
                    f.seek(offset + 100);
                    assertEquals(0x01020304, f.readInt(), "the change reached the replica's reads: the test proves"
                            + " something");
                }
                JsonNode report = verify(rig, 1).get("rounds").get(0);
                JsonNode ranges = report.get("ranges");
                assertEquals(1, ranges.size(), report.toString());
                assertRange(ranges.get(0), offset, 4096);
                assertFalse(rig.replayer().logText().contains("changed by another program"),
                        "beneath the file system: no change time moved, the watch saw nothing");
                JsonNode repaired = verify(rig, 0, "--repair");
                assertEquals(false, repaired.get("differs").asBoolean(), repaired.toString());
                rig.awaitSynced(Duration.ofSeconds(120));
                rig.assertReplicaMatchesPrimary();
            }
        } finally {
            if (mounted) {
                Peers.run(PEER, "umount", remote.toString());
            }
            Peers.run(PEER, "losetup", "-d", loop);
        }
    }

    /** Where byte {@code offset} of {@code file} lies in its file system's device, from FIEMAP ({@code filefrag}). */
    private static long physicalOffset(Path file, long offset) throws Exception {
        String out = Peers.ok(PEER, "filefrag", "-v", "-b4096", file.toString());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^\\s*\\d+:\\s*(\\d+)\\.\\.\\s*(\\d+):\\s*(\\d+)\\.\\.\\s*\\d+:").matcher(out);
        long block = offset / 4096;
        while (m.find()) {
            long first = Long.parseLong(m.group(1));
            long last = Long.parseLong(m.group(2));
            if (block >= first && block <= last) {
                return (Long.parseLong(m.group(3)) + block - first) * 4096 + offset % 4096;
            }
        }
        throw new AssertionError("no extent of " + file + " holds byte " + offset + ": " + out);
    }

    @Test
    void neverReportsWritesInFlight() throws Exception {
        long seconds = Long.getLong("tapline.verify.seconds", 60);
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x33 0 64M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            Process host = writer(rig, 0, 64); // everywhere, the verified chunks included
            int rounds = 0;
            long rechecked = 0;
            try {
                long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
                while (System.nanoTime() < end || rounds == 0) {
                    JsonNode report = verify(rig, 0).get("rounds").get(0);
                    assertEquals(0, report.get("ranges").size(), "false positive: " + report);
                    rechecked += report.get("recheckedChunks").asLong();
                    rounds++;
                }
                assertTrue(host.isAlive(), "the host kept writing during every verify");
            } finally {
                stop(host);
            }
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            assertFalse(rig.wedge().logText().contains("while the wedge served it"),
                    "a host writing on and off is never taken for another program");
            assertTrue(rounds >= 1);
            assertTrue(rechecked > 0, "writes in flight made first comparisons differ (" + rounds + " rounds): the "
                    + "exact re-check was exercised, not bypassed");
        }
    }

    private static void assertRange(JsonNode range, long offset, long length) {
        assertEquals(offset, range.get("offset").asLong(), range.toString());
        assertEquals(length, range.get("length").asLong(), range.toString());
    }
}
