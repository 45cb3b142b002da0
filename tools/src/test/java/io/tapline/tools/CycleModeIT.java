package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cycle mode ({@code wedge --mode cycles}) with real peers: ext4 through nbdfuse + a loop device,
 * qemu-io and qemu-img, and kill -9 of either side in the middle of a cycle's copy. The replica is
 * checked byte for byte against the image the host reads through the wedge, and at each copied
 * cycle against the files as they were at that freeze.
 */
class CycleModeIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    /**
     * Three rounds of file changes; each ends frozen (fsfreeze), with a {@code cycle now}: the
     * replica then passes e2fsck and holds exactly the files of that freeze, while the host goes on
     * writing to the next cycle. Finally the replica equals the host's disk.
     */
    @Test
    void everyCopiedCycleIsTheFileSystemAsFrozen() throws Exception {
        try (ReplicationRig rig = cycleRig(256L << 20)) {
            try (NbdfuseDisk disk = NbdfuseDisk.attach(dir, "host", rig.uri())) {
                Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-L", "tapline", disk.device());
                Path mnt = disk.mount(dir.resolve("mnt"));
                Map<String, String> previous = Map.of();
                for (int round = 1; round <= 3; round++) {
                    changeFiles(mnt.resolve("data"), round);
                    Peers.ok(PEER, "sync");
                    Peers.ok(PEER, "fsfreeze", "-f", mnt.toString());
                    Map<String, String> atFreeze;
                    try {
                        atFreeze = Ext4RollbackIT.md5Tree(mnt.resolve("data"));
                        cycleNow(rig);
                    } finally {
                        Peers.ok(PEER, "fsfreeze", "-u", mnt.toString());
                    }
                    assertNotEquals(previous, atFreeze, "round " + round + " changed nothing");
                    changeFiles(mnt.resolve("data"), 10 + round); // the host writes on: the next cycle's
                    Peers.ok(PEER, "sync");
                    Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString());
                    assertEquals(atFreeze, replicaFiles(rig), "replica files after the cycle of round " + round);
                    previous = atFreeze;
                }
                disk.unmount();
            }
            JsonNode cycles = cycleNow(rig);
            assertTrue(cycles.get("lastCopiedCycle").asLong() >= 4, cycles.toString());
            assertEquals(hostImageMd5(rig), Peers.md5(rig.replica()), "replica md5 vs the disk the host reads");
            rig.assertReplicaMatchesPrimary(); // after the merge the base alone is the whole image
            rig.awaitSynced(Duration.ofSeconds(30));
            // Each cycle is audited with its digest, and the replica's log matches every one.
            Path volumeData = dir.resolve("remote").resolve(ReplicationRig.EXPORT);
            long digests = io.tapline.log.audit.AuditLog.read(volumeData).stream()
                    .filter(e -> e.detail().contains(" cycle digest: ")).count();
            assertTrue(digests >= 4, "cycle digests in the audit log: " + digests);
            TaplineProcess.run(CLI, "audit", "verify", "--data", dir.resolve("remote").toString(), "--volume",
                    ReplicationRig.EXPORT).orFail("audit verify");
            List<String> trail = SourceTrail.settled(rig.buffer(), ReplicationRig.EXPORT);
            assertTrue(trail.stream().noneMatch(e -> e.contains("a resync ")),
                    "a cycle's copy is the normal course, no degradation in the source's audit log: " + trail);
        }
    }

    /**
     * A block rewritten many times inside a cycle crosses the link once: 200 rewrites of the same
     * 1 MiB send about 1 MiB, not 200.
     */
    @Test
    void rewritesInsideACycleCrossTheLinkOnce() throws Exception {
        try (ReplicationRig rig = cycleRig(64L << 20)) {
            String[] args = new String[2 + 200 * 2];
            args[0] = "-f";
            args[1] = "raw";
            for (int i = 0; i < 200; i++) {
                args[2 + 2 * i] = "-c";
                args[3 + 2 * i] = "write -P " + (i % 250 + 1) + " 8M 1M";
            }
            String[] cmd = new String[args.length + 2];
            cmd[0] = "qemu-io";
            System.arraycopy(args, 0, cmd, 1, args.length);
            cmd[cmd.length - 1] = rig.uri();
            Peers.ok(PEER, cmd);
            JsonNode status = statusVolume(rig);
            assertEquals(256, status.get("cycles").get("changedBlocks").asLong(), status.toString());
            cycleNow(rig);
            long sent = statusVolume(rig).get("resync").get("bytesSent").asLong();
            assertTrue(sent >= (1 << 20) && sent < (2 << 20), "bytes sent for 200 MiB of rewrites: " + sent);
            assertEquals(hostImageMd5(rig), Peers.md5(rig.replica()));
        }
    }

    /** kill -9 of the wedge while a cycle is being copied: the host's data is intact, and the next cycle catches up. */
    @Test
    void wedgeKilledDuringACopyCatchesUp() throws Exception {
        Path expected = dir.resolve("expected.img");
        try (ReplicationRig rig = new ReplicationRig(dir, 64L << 20)) {
            rig.startReplayer();
            rig.startWedge("--mode", "cycles", "--cycle", "1h", "--resync-rate", "8M"); // a copy of 32 MiB takes ~4 s
            writeRandom(rig, expected, 32 << 20, 1);
            TaplineProcess cycle = startCopyingACycle(rig);
            rig.wedge().kill9();
            int code = cycle.exitCode(Duration.ofSeconds(30));
            assertTrue(code > 0, "cycle now must fail when the wedge dies (exit " + code + "):\n" + cycle.logText());
            rig.startWedge("--mode", "cycles", "--cycle", "1h");
            assertEquals(Peers.md5(expected), hostImageMd5(rig), "the host's disk after the kill");
            writeRandom(rig, expected, 4 << 20, 2); // and more writes into the next cycle
            cycleNow(rig);
            assertEquals(Peers.md5(expected), Peers.md5(rig.replica()), "replica after the restart's cycle");
            rig.awaitSynced(Duration.ofSeconds(60));
        }
    }

    /**
     * The runbook's "source lost in the middle of a copy": kill -9 of the wedge mid-copy, the replica
     * rolled back to its last consistent point, the wedge restarted and the volume resumed. The
     * shipper then needs a full cycle, which waited for that very link: both waited for ever (probe M D7).
     */
    @Test
    void aSourceLostMidCopyRolledBackAndResumedHeals() throws Exception {
        Path expected = dir.resolve("expected.img");
        try (ReplicationRig rig = new ReplicationRig(dir, 64L << 20)) {
            rig.startReplayer();
            rig.startWedge("--mode", "cycles", "--cycle", "1h", "--resync-rate", "4M");
            writeRandom(rig, expected, 1 << 20, 11);
            cycleNow(rig);
            writeRandom(rig, expected, 32 << 20, 12); // a copy of 32 MiB at 4 MiB/s takes ~8 s
            TaplineProcess cycle = startCopyingACycle(rig);
            rig.wedge().kill9();
            cycle.exitCode(Duration.ofSeconds(30));
            String remote = ReplicationRig.hostPort(rig.linkAddress);
            TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", ReplicationRig.EXPORT,
                    "--to-last-consistent").orFail("rollback --to-last-consistent");
            rig.startWedge("--mode", "cycles", "--cycle", "1h");
            TaplineProcess.run(CLI, "resume", "--remote", remote, "--volume", ReplicationRig.EXPORT).orFail("resume");
            writeRandom(rig, expected, 1 << 20, 13);
            cycleNow(rig);
            rig.awaitSynced(Duration.ofSeconds(120));
            assertEquals(Peers.md5(expected), Peers.md5(rig.replica()), "replica after the resumed full cycle");
        }
    }

    /** kill -9 of the replayer while a cycle is being copied: once it is back the cycle completes. */
    @Test
    void replayerKilledDuringACopyCompletesTheCycle() throws Exception {
        Path expected = dir.resolve("expected.img");
        try (ReplicationRig rig = new ReplicationRig(dir, 64L << 20)) {
            rig.startReplayer();
            rig.startWedge("--mode", "cycles", "--cycle", "1h", "--resync-rate", "8M");
            writeRandom(rig, expected, 32 << 20, 3);
            TaplineProcess cycle = rig.own(TaplineProcess.start(dir.resolve("cycle-now.log"), "cycle", "now",
                    "--buffer", rig.buffer().toString(), "--volume", ReplicationRig.EXPORT, "--timeout", "300"));
            Poll.until(Duration.ofSeconds(60), () -> "a cycle being copied", Poll.of(() -> {
                JsonNode v = statusVolume(rig);
                return v.get("cycles").get("frozenCycle").asLong() != 0
                        && v.get("resync").get("chunksCompared").asLong() > 0;
            }));
            rig.replayer().kill9();
            JsonNode during = statusVolume(rig);
            assertEquals(false, during.get("synced").asBoolean(), during.toString());
            rig.startReplayer();
            assertEquals(0, cycle.exitCode(Duration.ofMinutes(4)), "cycle now after the replayer came back:\n"
                    + cycle.logText());
            assertEquals(Peers.md5(expected), Peers.md5(rig.replica()));
            assertEquals(Peers.md5(expected), hostImageMd5(rig));
        }
    }

    /**
     * A switch of mode is a cycle boundary: writes kept in a layer that was never copied reach the
     * replica by a resync once the wedge runs in journal mode, and journal writes before the next
     * switch are in the next cycle mode's first copy.
     */
    @Test
    void switchingModesIsACycleBoundary() throws Exception {
        Path expected = dir.resolve("expected.img");
        try (ReplicationRig rig = cycleRig(64L << 20)) {
            writeRandom(rig, expected, 8 << 20, 5); // kept in cycle 1's layer, never copied
            rig.wedge().close();
            assertTrue(Files.exists(rig.primary().resolveSibling("primary.img.cycle-1.table")));
            rig.startWedge(); // journal mode
            assertTrue(!Files.exists(rig.primary().resolveSibling("primary.img.cycle-1.table")),
                    "the layers must be merged in journal mode");
            rig.awaitSynced(Duration.ofSeconds(120));
            assertEquals(Peers.md5(expected), Peers.md5(rig.replica()), "replica after the switch to journal mode");
            writeRandom(rig, expected, 2 << 20, 6);
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.wedge().close();
            rig.startWedge("--mode", "cycles", "--cycle", "1h");
            writeRandom(rig, expected, 1 << 20, 7);
            cycleNow(rig);
            assertEquals(Peers.md5(expected), Peers.md5(rig.replica()), "replica after the switch back to cycles");
            assertEquals(Peers.md5(expected), hostImageMd5(rig));
        }
    }

    /**
     * A group of two volumes written "log, then data" (each write flushed before the next): at
     * every copied group cycle the replica pair shows a state the writer could have produced, i.e.
     * data records 1..D and log records 1..L with D = L or D = L - 1, never data without its log.
     */
    @Test
    void aGroupFreezesItsVolumesAtOneInstant() throws Exception {
        int pairs = 1500;
        try (ReplicationRig rig = new ReplicationRig(dir, 16L << 20)) {
            rig.startReplayer();
            Path dataVolume = dir.resolve("data.img");
            rig.startWedge("--mode", "cycles", "--cycle", "1h", "--group", "db", "--member", "data=" + dataVolume);
            String dataUri = rig.uri().replace("/" + ReplicationRig.EXPORT, "/data");
            Process writer = new ProcessBuilder("/usr/bin/python3", writerScript().toString(), "logdata", rig.uri(),
                    dataUri, Integer.toString(pairs)).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("logdata.log").toFile()).start();
            int rounds = 0;
            long last = 0;
            while (writer.isAlive() || rounds < 2) {
                long copied = cycleNow(rig).get("lastCopiedCycle").asLong();
                Poll.until(Duration.ofSeconds(120), () -> "the data volume copying group cycle " + copied, Poll.of(() -> {
                    JsonNode c = statusVolume(rig, "data").get("cycles");
                    return c.get("lastCopiedCycle").asLong() >= copied && c.get("frozenCycle").asLong() == 0;
                }));
                long[] ld = records(rig.replica(), dir.resolve("remote/data/replica.img"));
                assertTrue(ld[1] == ld[0] || ld[1] == ld[0] - 1, "group cycle " + copied + ": log records 1.." + ld[0]
                        + ", data records 1.." + ld[1] + ": a state the writer never produced");
                assertTrue(ld[0] >= last, "the log went back: " + ld[0] + " < " + last);
                last = ld[0];
                rounds++;
            }
            assertEquals(0, writer.waitFor(), Files.readString(dir.resolve("logdata.log")));
            cycleNow(rig);
            Poll.until(Duration.ofSeconds(120), () -> "the data volume copying the last cycle", Poll.of(() ->
                    statusVolume(rig, "data").get("synced").asBoolean()));
            long[] ld = records(rig.replica(), dir.resolve("remote/data/replica.img"));
            assertEquals(pairs, ld[0], "log records after the last cycle");
            assertEquals(pairs, ld[1], "data records after the last cycle");
            assertTrue(rounds >= 2, "group cycles checked while the writer ran: " + rounds);
        }
    }

    /**
     * The source of a group lost in the middle of a group cycle: the data volume's copy is made
     * long (32 MiB of other changes below the records, copied at 2 MiB/s) and the source is killed
     * once the log volume holds the new instant and the data volume does not, so the replica pair
     * is one the writer never produced. {@code cycle group-point} finds the newest instant both
     * hold; rolling each back to it gives a pair the writer produced.
     */
    @Test
    void aGroupLostMidCycleRollsBackToItsCommonInstant() throws Exception {
        long base = 48L << 20;
        try (ReplicationRig rig = new ReplicationRig(dir, 128L << 20)) {
            rig.startReplayer();
            Path dataVolume = dir.resolve("data.img");
            rig.startWedge("--mode", "cycles", "--cycle", "1s", "--resync-rate", "2M", "--group", "db", "--member",
                    "data=" + dataVolume);
            String dataUri = rig.uri().replace("/" + ReplicationRig.EXPORT, "/data");
            Process writer = rig.ownProcess(new ProcessBuilder("/usr/bin/python3", writerScript().toString(), "logdata",
                    rig.uri(), dataUri, "15000", Long.toString(base)).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("logdata.log").toFile()).start());
            Poll.until(Duration.ofSeconds(120), () -> "two group cycles copied", Poll.of(() ->
                    statusVolume(rig, "data").get("cycles").get("lastCopiedCycle").asLong() >= 2));
            // 32 MiB of other changes at 2 MiB/s: the data volume's copy of that cycle takes ~16 s, while the
            // log volume's is done in a moment. Again with another pattern if the window was missed.
            boolean split = false;
            for (int attempt = 1; attempt <= 3 && !split; attempt++) {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P " + (0x50 + attempt) + " 0 32M", dataUri);
                long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
                while (!split && System.nanoTime() < deadline) {
                    long log = statusVolume(rig, ReplicationRig.EXPORT).get("cycles").get("lastCopiedCycle").asLong();
                    JsonNode data = statusVolume(rig, "data").get("cycles");
                    split = log > data.get("lastCopiedCycle").asLong() && data.get("frozenCycle").asLong() != 0;
                }
            }
            assertTrue(split, "the log volume never got a cycle ahead of the data volume");
            rig.wedge().kill9(); // the source is lost in the middle of the data volume's copy
            writer.destroyForcibly();
            long[] before = records(rig.replica(), dir.resolve("remote/data/replica.img"), base);
            assertTrue(before[1] < before[0] - 1, "the loss did not split the pair (log 1.." + before[0] + ", data 1.."
                    + before[1] + "): the test proves nothing");
            String out = TaplineProcess.run(CLI, "cycle", "group-point", "--data", dir.resolve("remote").toString(),
                    "--volume", ReplicationRig.EXPORT, "--volume", "data", "--json").orFail("group-point").output();
            JsonNode point = io.tapline.tools.cli.Json.mapper().readTree(out.substring(out.indexOf('{')));
            for (JsonNode m : point.get("members")) {
                TaplineProcess.run(CLI, "rollback", "--remote", ReplicationRig.hostPort(rig.linkAddress), "--volume",
                        m.get("volume").asText(), "--to-seq", m.get("endSequence").asText(), "--json")
                        .orFail("rollback " + m);
                String window = TaplineProcess.run(CLI, "window", "--data", dir.resolve("remote").toString(),
                        "--volume", m.get("volume").asText(), "--json").orFail("window").output();
                JsonNode w = io.tapline.tools.cli.Json.mapper().readTree(window.substring(window.indexOf('{')));
                // An earlier cycle's END is a consistent point: the log volume went back past its newest one.
                assertEquals("consistent", w.get("replica").asText(), "after the rollback to " + m + ": " + w);
            }
            long[] ld = records(rig.replica(), dir.resolve("remote/data/replica.img"), base);
            System.out.println("cycle mode group point: at the loss log 1.." + before[0] + ", data 1.." + before[1]
                    + "; after the rollback to the common instant log 1.." + ld[0] + ", data 1.." + ld[1]);
            assertTrue(ld[0] > 0, "the common instant holds no record at all: " + point);
            assertTrue(ld[1] == ld[0] || ld[1] == ld[0] - 1, "after the rollback to " + point + ": log 1.." + ld[0]
                    + ", data 1.." + ld[1]);
        }
    }

    /**
     * Cross-mirroring: site A's volume mirrors to site B while B's mirrors to A, both in cycle
     * mode, both hosts writing at once; each replica ends equal to its source.
     */
    @Test
    void twoSitesMirrorToEachOtherAtOnce() throws Exception {
        Path aToB = Files.createDirectories(dir.resolve("a-to-b"));
        Path bToA = Files.createDirectories(dir.resolve("b-to-a"));
        try (ReplicationRig ab = new ReplicationRig(aToB, 32L << 20); ReplicationRig ba = new ReplicationRig(bToA, 32L << 20)) {
            for (ReplicationRig r : List.of(ab, ba)) {
                r.startReplayer();
                r.startWedge("--mode", "cycles", "--cycle", "1s");
            }
            Process wa = new ProcessBuilder("/usr/bin/python3", writerScript().toString(), "random", ab.uri(), "5", "400",
                    "1").redirectErrorStream(true).redirectOutput(dir.resolve("wa.log").toFile()).start();
            Process wb = new ProcessBuilder("/usr/bin/python3", writerScript().toString(), "random", ba.uri(), "5", "400",
                    "2").redirectErrorStream(true).redirectOutput(dir.resolve("wb.log").toFile()).start();
            assertEquals(0, wa.waitFor(), Files.readString(dir.resolve("wa.log")));
            assertEquals(0, wb.waitFor(), Files.readString(dir.resolve("wb.log")));
            for (ReplicationRig r : List.of(ab, ba)) {
                assertTrue(statusVolume(r).get("cycles").get("lastCopiedCycle").asLong() >= 1,
                        "cycles ran while the hosts wrote");
                cycleNow(r);
                assertEquals(hostImageMd5(r), Peers.md5(r.replica()), "replica of " + r.dir);
            }
        }
    }

    /** How many records 1..n each image holds in a row from 1: {log, data}. */
    private static long[] records(Path log, Path data) throws IOException {
        return records(log, data, 0);
    }

    /** As {@link #records(Path, Path)}, for records written from {@code base}. */
    private static long[] records(Path log, Path data, long base) throws IOException {
        return new long[] {recordsInARow(log, base), recordsInARow(data, base)};
    }

    private static long recordsInARow(Path image, long base) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(image)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            long i = 1;
            while (true) {
                b.clear();
                if (ch.read(b, base + i * 4096) < 8 || b.getLong(0) != i) {
                    return i - 1;
                }
                i++;
            }
        }
    }

    private Path writerScript() throws IOException {
        Path script = dir.resolve("nbd_writer.py");
        try (java.io.InputStream in = CycleModeIT.class.getResourceAsStream("/nbd_writer.py")) {
            Files.copy(in, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        return script;
    }

    private ReplicationRig cycleRig(long size) throws IOException, InterruptedException {
        ReplicationRig rig = new ReplicationRig(dir, size);
        rig.startReplayer();
        rig.startWedge("--mode", "cycles", "--cycle", "1h");
        return rig;
    }

    /** {@code tapline cycle now --json}: the cycle status once every replica holds the new cycle. */
    /** Starts {@code cycle now} and returns once a cycle is being copied (its process still waiting). */
    private TaplineProcess startCopyingACycle(ReplicationRig rig) throws Exception {
        TaplineProcess cycle = rig.own(TaplineProcess.start(dir.resolve("cycle-now.log"), "cycle", "now",
                "--buffer", rig.buffer().toString(), "--volume", ReplicationRig.EXPORT));
        Poll.until(Duration.ofSeconds(60), () -> "a cycle being copied", Poll.of(() -> {
            JsonNode v = statusVolume(rig);
            return v.get("cycles").get("frozenCycle").asLong() != 0
                    && v.get("resync").get("chunksCompared").asLong() > 0;
        }));
        return cycle;
    }

    private static JsonNode cycleNow(ReplicationRig rig) throws Exception {
        String out = TaplineProcess.run(CLI, "cycle", "now", "--buffer", rig.buffer().toString(), "--volume",
                ReplicationRig.EXPORT, "--json").orFail("cycle now").output();
        return io.tapline.tools.cli.Json.mapper().readTree(out.substring(out.lastIndexOf("\n{") + 1));
    }

    private static JsonNode statusVolume(ReplicationRig rig) throws Exception {
        return statusVolume(rig, ReplicationRig.EXPORT);
    }

    private static JsonNode statusVolume(ReplicationRig rig, String volume) throws Exception {
        String out = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(), "--volume", volume,
                "--json").output();
        return io.tapline.tools.cli.Json.mapper().readTree(out.substring(out.indexOf('{'))).get("volumes").get(0);
    }

    /** What the host reads through the wedge, as an md5. */
    private String hostImageMd5(ReplicationRig rig) throws Exception {
        Path copy = dir.resolve("host-copy.img");
        Files.deleteIfExists(copy);
        Peers.ok(PEER, "qemu-img", "convert", "-f", "raw", "-O", "raw", rig.uri(), copy.toString());
        try {
            return Peers.md5(copy);
        } finally {
            Files.delete(copy);
        }
    }

    /** Writes {@code bytes} of random data at the start of the disk through the wedge (qemu-img), and into {@code expected}. */
    private static void writeRandom(ReplicationRig rig, Path expected, int bytes, int seed) throws Exception {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        Path chunk = expected.resolveSibling("chunk-" + seed + ".raw");
        Files.write(chunk, data);
        Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -s " + chunk + " 0 " + bytes, rig.uri());
        if (!Files.exists(expected)) {
            try (var f = new java.io.RandomAccessFile(expected.toFile(), "rw")) {
                f.setLength(rig.sizeBytes);
            }
        }
        try (var f = new java.io.RandomAccessFile(expected.toFile(), "rw")) {
            f.write(data);
        }
        Files.delete(chunk);
    }

    private Map<String, String> replicaFiles(ReplicationRig rig) throws Exception {
        Path check = Files.createDirectories(dir.resolve("check"));
        Peers.ok(PEER, "mount", "-o", "ro,loop", rig.replica().toString(), check.toString());
        try {
            return Ext4RollbackIT.md5Tree(check.resolve("data"));
        } finally {
            Peers.ok(PEER, "umount", check.toString());
        }
    }

    /** Round {@code round}: new files, overwrites of a third, deletion of another third, one larger file rewritten. */
    private static void changeFiles(Path root, int round) throws IOException {
        Files.createDirectories(root);
        Random rnd = new Random(round);
        for (int f = 0; f < 300; f++) {
            Path p = root.resolve("f" + f);
            int kind = (f + round) % 3;
            if (kind == 0 && Files.exists(p)) {
                Files.delete(p);
                continue;
            }
            byte[] content = new byte[rnd.nextInt(48 << 10)];
            rnd.nextBytes(content);
            Files.write(p, content);
        }
        byte[] big = new byte[4 << 20];
        rnd.nextBytes(big);
        Files.write(root.resolve("big.bin"), big);
    }
}
