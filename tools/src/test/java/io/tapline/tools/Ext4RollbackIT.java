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

    @Test
    void ext4RolledBackToAMarkIsCleanAndHoldsTheFilesFromBeforeTheMark() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 128L << 20).start()) {
            Path fuseDir = Files.createDirectories(dir.resolve("nbdfuse"));
            Path mnt = Files.createDirectories(dir.resolve("mnt"));
            Path pidFile = dir.resolve("nbdfuse.pid");
            Process nbdfuse = new ProcessBuilder("nbdfuse", "-P", pidFile.toString(),
                    fuseDir.resolve("disk").toString(), rig.uri())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("nbdfuse.log").toFile()).start();
            String loop = null;
            boolean mounted = false;
            boolean frozen = false;
            Map<String, String> before;
            long markSeq;
            try {
                awaitFile(pidFile, nbdfuse);
                loop = Peers.ok(PEER, "losetup", "-f", "--show", fuseDir.resolve("disk").toString()).trim();
                Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-L", "tapline", loop);
                Peers.ok(PEER, "mount", loop, mnt.toString());
                mounted = true;
                writeFiles(mnt.resolve("data"), 1, 200);
                Peers.ok(PEER, "sync");
                before = md5Tree(mnt.resolve("data"));

                Peers.ok(PEER, "fsfreeze", "-f", mnt.toString());
                frozen = true;
                String json = TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume",
                        ReplicationRig.EXPORT, "--json", "before-change").orFail("mark").output();
                markSeq = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('{')))
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
                assertNotEquals(before, md5Tree(mnt.resolve("data")), "the changes after the mark changed nothing");
                Peers.ok(PEER, "umount", mnt.toString());
                mounted = false;
                Peers.ok(PEER, "losetup", "-d", loop);
                loop = null;
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
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();

            Peers.Result r = TaplineProcess.run(CLI, "rollback", "--remote", ReplicationRig.hostPort(rig.linkAddress),
                    "--volume", ReplicationRig.EXPORT, "--to-mark", "before-change", "--json");
            r.orFail("rollback");
            String out = r.output().substring(r.output().indexOf('{'));
            assertEquals(markSeq, io.tapline.tools.cli.Json.mapper().readTree(out).get("sequence").asLong(), out);

            Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString());
            Path check = Files.createDirectories(dir.resolve("check"));
            Peers.ok(PEER, "mount", "-o", "ro,loop", rig.replica().toString(), check.toString());
            try {
                assertEquals(before, md5Tree(check.resolve("data")), "files on the replica rolled back to the mark");
            } finally {
                Peers.ok(PEER, "umount", check.toString());
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

    private static Map<String, String> md5Tree(Path root) throws IOException {
        Map<String, String> sums = new TreeMap<>();
        try (var files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                sums.put(root.relativize(p).toString(), Peers.md5(p));
            }
        }
        assertTrue(sums.size() > 100, "only " + sums.size() + " files under " + root);
        return sums;
    }

    private static void awaitFile(Path file, Process owner) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.size(file) > 0) {
                return;
            }
            if (!owner.isAlive()) {
                throw new AssertionError("nbdfuse exited " + owner.exitValue());
            }
            owner.waitFor(50, TimeUnit.MILLISECONDS);
        }
        throw new AssertionError("nbdfuse did not write " + file + " within 30 s");
    }
}
