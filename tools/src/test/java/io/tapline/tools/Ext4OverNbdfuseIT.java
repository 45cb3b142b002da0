package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real file system through the wedge: nbdfuse exposes the export as a file, a loop device
 * turns it into a block device, ext4 is made and filled with a tree of a few thousand files.
 * After sync the replica must equal the primary and pass {@code e2fsck -fn}. Needs root, FUSE
 * and loop devices (CI has them).
 */
class Ext4OverNbdfuseIT {
    private static final Duration PEER = Duration.ofMinutes(3);

    @TempDir
    Path dir;

    @Test
    void ext4TreeCopiedThroughTheWedgeIsCleanAndIdenticalOnTheReplica() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 512L << 20).start()) {
            Path tree = makeTree(dir.resolve("tree"));
            try (NbdfuseDisk disk = NbdfuseDisk.attach(dir, "host", rig.uri())) {
                Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-L", "tapline", disk.device());
                Path mnt = disk.mount(dir.resolve("mnt"));
                Peers.ok(PEER, "cp", "-a", tree.toString(), mnt.resolve("tree").toString());
                disk.unmount();
            }
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();
            Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString());
            // The replica mounts and holds the tree, file for file.
            Path check = Files.createDirectories(dir.resolve("check"));
            Peers.ok(PEER, "mount", "-o", "ro,loop", rig.replica().toString(), check.toString());
            try {
                String diff = Peers.run(PEER, "diff", "-r", tree.toString(), check.resolve("tree").toString()).output();
                assertTrue(diff.isEmpty(), "replica's tree differs from the source tree:\n" + diff);
            } finally {
                Peers.ok(PEER, "umount", check.toString());
            }
        }
    }

    /** 3000 small files in 30 directories, plus one 32 MiB random file. */
    static Path makeTree(Path root) throws IOException {
        Random rnd = new Random(3);
        for (int d = 0; d < 30; d++) {
            Path sub = Files.createDirectories(root.resolve("d" + d));
            for (int f = 0; f < 100; f++) {
                byte[] content = new byte[rnd.nextInt(9000)];
                rnd.nextBytes(content);
                Files.write(sub.resolve("f" + f), content);
            }
        }
        byte[] big = new byte[32 << 20];
        rnd.nextBytes(big);
        Files.write(root.resolve("big.bin"), big);
        return root;
    }
}
