package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's image locks, with QEMU's own tools: while Tapline writes a primary or a replica,
 * qemu-io and qemu-img refuse to write it (and to read it without -U) as they refuse an image a
 * running VM holds, and nothing reaches the file; a wedge refuses a primary that qemu-nbd serves
 * read-write, in one line, before it creates a buffer.
 */
class QemuImageLocksIT {
    private static final Duration PEER = Duration.ofMinutes(1);

    @TempDir
    Path dir;

    @Test
    void qemuToolsRefuseToWriteAPrimaryOrAReplicaTaplineHolds() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, 16L << 20).start()) {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x42 0 1M", "-c", "flush", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            for (Path image : new Path[] {rig.primary(), rig.replica()}) {
                Peers.Result w = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x77 0 4k", image.toString());
                assertNotEquals(0, w.exitCode(), image + ": " + w.output());
                assertTrue(w.output().contains("Failed to get \"write\" lock"), image + ": " + w.output());
                Peers.Result r = Peers.run(PEER, "qemu-img", "convert", "-f", "raw", "-O", "raw", image.toString(),
                        dir.resolve("copy.img").toString());
                assertTrue(r.output().contains("Failed to get shared \"write\" lock"), image + ": " + r.output());
                Peers.ok(PEER, "qemu-img", "info", "-f", "raw", image.toString()); // metadata only: allowed
                Peers.ok(PEER, "qemu-img", "convert", "-U", "-f", "raw", "-O", "raw", image.toString(),
                        dir.resolve("copy.img").toString()); // the operator's explicit -U still reads
            }
            rig.assertReplicaMatchesPrimary();
            assertEquals(Peers.md5(rig.primary()), Peers.md5(dir.resolve("copy.img")), "nothing was written");
        }
    }

    @Test
    void aWedgeRefusesAPrimaryThatQemuNbdServesReadWrite() throws Exception {
        Path image = dir.resolve("primary.img");
        Peers.ok(PEER, "truncate", "-s", "16M", image.toString());
        Path pid = dir.resolve("qemu-nbd.pid");
        int port = Peers.freePort();
        Peers.ok(PEER, "qemu-nbd", "--fork", "--persistent", "--pid-file", pid.toString(), "-f", "raw",
                "--bind", "127.0.0.1", "--port", Integer.toString(port), image.toString());
        try {
            InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
            Peers.Result wedge = TaplineProcess.run(Duration.ofSeconds(60), "wedge", "--nbd", ReplicationRig.hostPort(nbd),
                    "--export", "vol1", "--volume", image.toString(), "--size", "16M", "--buffer",
                    dir.resolve("buffer").toString());
            assertNotEquals(0, wedge.exitCode(), wedge.output());
            assertTrue(wedge.output().contains("image " + image + " is in use by another program that writes it"),
                    wedge.output());
            assertFalse(Files.exists(dir.resolve("buffer")), "no buffer left behind by a refused start");
        } finally {
            Peers.run(PEER, "kill", Files.readString(pid).strip());
        }
    }
}
