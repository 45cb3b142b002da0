package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance test with a real file system: ext4 made through the wedge (nbdfuse +
 * loop), files written, a mark, then files deleted and overwritten; the replica rolled back to
 * the mark must pass {@code e2fsck -fn} and hold every file with its md5 from before the mark.
 *
 * <p>Why {@code fsfreeze}: a mark placed while the file system is mounted and busy is only
 * crash-consistent (the journal may need replaying, and {@code e2fsck -n} would then complain).
 * {@code sync} + {@code fsfreeze -f} flushes the journal and clears ext4's needs-recovery flag
 * while the file system stays mounted, which is what an operator does before marking a live
 * volume; the mark is taken while it is frozen and it is thawed right after. Unmounting would
 * work as well but would not show the procedure for a volume that must stay online.
 *
 * <p>Needs root, FUSE and loop devices (CI has them).
 */
class Ext4RollbackIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    /** What the scenario left: the files at the mark, the files after the changes, the mark's sequence. */
    private record Scenario(Map<String, String> atMark, Map<String, String> afterChanges, long markSeq) {
    }

    /** Something done to the block device (through the wedge) after the file system is unmounted. */
    private interface Damage {
        void apply(String loopDevice) throws Exception;
    }

    @Test
    void ext4RolledBackToAMarkIsCleanAndHoldsTheFilesFromBeforeTheMark() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 128L << 20).start()) {
            Scenario s = markThenChange(rig, loopDevice -> { });
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();

            Peers.Result r = TaplineProcess.run(CLI, "rollback", "--remote", ReplicationRig.hostPort(rig.linkAddress),
                    "--volume", ReplicationRig.EXPORT, "--to-mark", "before-change", "--json");
            r.orFail("rollback");
            String out = r.output().substring(r.output().indexOf('{'));
            assertEquals(s.markSeq(), io.tapline.tools.cli.Json.mapper().readTree(out).get("sequence").asLong(), out);

            Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString());
            assertEquals(s.atMark(), replicaFiles(rig), "files on the replica rolled back to the mark");
        }
    }

    /**
     * The inode table of group 0 is overwritten with random bytes through the wedge after the
     * changes: {@code --until-check 'e2fsck -fn {image}'} must land on the last clean point, the
     * unmounted file system with the changes (not the older mark), found by bisection.
     */
    /**
     * Flush points taken while the file system was mounted are crash-consistent: their journal
     * needs replaying, and {@code e2fsck -n} alone would fail them and break the "good, then
     * bad" order bisection relies on. The image is a scratch copy, so the check replays the
     * journal of such a point first (as mounting would; only then, since {@code e2fsck -y} would
     * also repair real damage), then checks read-only.
     */
    private static final String CHECK = "if dumpe2fs -h {image} 2>/dev/null | grep -q needs_recovery; then"
            + " e2fsck -y -E journal_only {image} >/dev/null 2>&1; fi; e2fsck -fn {image}";

    @Test
    void untilCheckWithE2fsckFindsTheLastCleanPointAfterTheInodeTableIsDamaged() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 128L << 20).start()) {
            Scenario s = markThenChange(rig, loopDevice -> {
                String dump = Peers.ok(PEER, "dumpe2fs", loopDevice);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("Inode table at (\\d+)-").matcher(dump);
                java.util.regex.Matcher bs = java.util.regex.Pattern.compile("Block size: +(\\d+)").matcher(dump);
                assertTrue(m.find() && bs.find(), dump);
                Peers.ok(PEER, "dd", "if=/dev/urandom", "of=" + loopDevice, "bs=" + bs.group(1), "seek=" + m.group(1),
                        "count=64", "oflag=direct", "conv=fsync", "status=none");
            });
            rig.awaitSynced(Duration.ofSeconds(180));
            assertTrue(Peers.run(PEER, "e2fsck", "-fn", rig.replica().toString()).exitCode() != 0,
                    "the damage did not make e2fsck fail");

            Peers.Result r = TaplineProcess.run(Duration.ofMinutes(5), "rollback", "--remote",
                    ReplicationRig.hostPort(rig.linkAddress), "--volume", ReplicationRig.EXPORT, "--data",
                    dir.resolve("remote").toString(), "--image-dir", dir.toString(), "--until-check",
                    CHECK, "--json");
            r.orFail("rollback --until-check");
            var result = io.tapline.tools.cli.Json.mapper().readTree(r.output().substring(
                    r.output().lastIndexOf("\n{") + 1));
            assertTrue(result.get("rolledBack").asBoolean(), r.output());
            assertTrue(result.get("sequence").asLong() > s.markSeq(), r.output());
            Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString());
            assertEquals(s.afterChanges(), replicaFiles(rig), "files on the replica at the last clean point");
        }
    }

    private Map<String, String> replicaFiles(ReplicationRig rig) throws Exception {
        Path check = Files.createDirectories(dir.resolve("check"));
        Peers.ok(PEER, "mount", "-o", "ro,loop", rig.replica().toString(), check.toString());
        try {
            return md5Tree(check.resolve("data"));
        } finally {
            Peers.ok(PEER, "umount", check.toString());
        }
    }

    /**
     * ext4 through the wedge; files; sync + freeze; mark {@code before-change}; thaw; delete and
     * overwrite files; sync; unmount; {@code damage}; detach.
     */
    private Scenario markThenChange(ReplicationRig rig, Damage damage) throws Exception {
        Path fuseDir = Files.createDirectories(dir.resolve("nbdfuse"));
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Path pidFile = dir.resolve("nbdfuse.pid");
        Process nbdfuse = new ProcessBuilder("nbdfuse", "-P", pidFile.toString(),
                fuseDir.resolve("disk").toString(), rig.uri())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nbdfuse.log").toFile()).start();
        String loop = null;
        boolean mounted = false;
        boolean frozen = false;
        try {
            NbdfuseDisk.awaitFile(pidFile, nbdfuse);
            loop = Peers.ok(PEER, "losetup", "-f", "--show", fuseDir.resolve("disk").toString()).trim();
            Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-L", "tapline", loop);
            Peers.ok(PEER, "mount", loop, mnt.toString());
            mounted = true;
            writeFiles(mnt.resolve("data"), 1, 200);
            Peers.ok(PEER, "sync");
            Map<String, String> atMark = md5Tree(mnt.resolve("data"));

            Peers.ok(PEER, "fsfreeze", "-f", mnt.toString());
            frozen = true;
            String json = TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume",
                    ReplicationRig.EXPORT, "--json", "before-change").orFail("mark").output();
            long markSeq = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('{')))
                    .get("sequence").asLong();
            Peers.ok(PEER, "fsfreeze", "-u", mnt.toString());
            frozen = false;

            // After the mark: delete a third of the files, overwrite another third, add new ones.
            for (int i = 0; i < 200; i += 3) {
                Files.delete(mnt.resolve("data").resolve("f" + i));
            }
            writeFiles(mnt.resolve("data"), 2, 200);
            Files.delete(mnt.resolve("data").resolve("big.bin"));
            Peers.ok(PEER, "sync");
            Map<String, String> after = md5Tree(mnt.resolve("data"));
            assertNotEquals(atMark, after, "the changes after the mark changed nothing");
            Peers.ok(PEER, "umount", mnt.toString());
            mounted = false;
            damage.apply(loop);
            Peers.ok(PEER, "losetup", "-d", loop);
            loop = null;
            return new Scenario(atMark, after, markSeq);
        } finally {
            if (frozen) {
                Peers.run(PEER, "fsfreeze", "-u", mnt.toString());
            }
            if (mounted) {
                Peers.run(PEER, "umount", "-l", mnt.toString());
            }
            if (loop != null) {
                Peers.run(PEER, "losetup", "-d", loop);
            }
            Peers.run(PEER, "fusermount3", "-u", fuseDir.toString());
            if (!nbdfuse.waitFor(30, TimeUnit.SECONDS)) {
                nbdfuse.destroyForcibly();
            }
        }
    }

    /** Writes {@code count} files of random sizes (generation {@code seed}) and one 8 MiB file. */
    private static void writeFiles(Path root, int seed, int count) throws IOException {
        Files.createDirectories(root);
        Random rnd = new Random(seed);
        for (int f = 0; f < count; f++) {
            if (seed > 1 && f % 3 == 0) {
                continue; // deleted in generation 2, stays deleted
            }
            if (seed > 1 && f % 3 == 2) {
                continue; // untouched in generation 2
            }
            byte[] content = new byte[rnd.nextInt(64 << 10)];
            rnd.nextBytes(content);
            Files.write(root.resolve("f" + f), content);
        }
        for (int f = 0; seed > 1 && f < 20; f++) {
            Files.write(root.resolve("new" + f), new byte[4096 * (f + 1)]);
        }
        if (seed == 1) {
            byte[] big = new byte[8 << 20];
            rnd.nextBytes(big);
            Files.write(root.resolve("big.bin"), big);
        }
    }

    static Map<String, String> md5Tree(Path root) throws IOException {
        Map<String, String> sums = new TreeMap<>();
        try (var files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                sums.put(root.relativize(p).toString(), Peers.md5(p));
            }
        }
        assertTrue(sums.size() > 100, "only " + sums.size() + " files under " + root);
        return sums;
    }

}
