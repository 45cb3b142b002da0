package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cascade A → B → C with real hosts (qemu-img, qemu-io): B forwards what it applies to C, each
 * hop with its own buffer, cursor and state. C's replica equals A's primary after sync, also
 * after an upstream resync (A's primary changed behind Tapline's back) and a restart of B.
 */
class CascadeIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    @Test
    void theLastReplicaOfACascadeEqualsThePrimaryAlsoAfterAnUpstreamResync() throws Exception {
        InetSocketAddress cLink = new InetSocketAddress("127.0.0.1", Peers.freePort());
        Path cData = dir.resolve("c-data");
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE);
                TaplineProcess c = TaplineProcess.start(dir.resolve("c.log"), "replay", "--listen",
                        ReplicationRig.hostPort(cLink), "--data", cData.toString())
                        .awaitListening(cLink, ReplicationRig.START)) {
            rig.startReplayer("--forward", ReplicationRig.hostPort(cLink));
            rig.startWedge();
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw",
                    HostWrites.randomFile(dir.resolve("data.img"), 16, 21).toString(), rig.uri());
            HostWrites.random4k(rig, SIZE, 300, 22);
            awaitAll(rig, cData);
            Path cReplica = cData.resolve("vol1").resolve("replica.img");
            assertEquals(Peers.md5(rig.primary()), Peers.md5(cReplica), "C == A");

            // Upstream resync: A's primary changes behind Tapline's back; B is resynced, C follows.
            rig.wedge().close();
            try (var f = new java.io.RandomAccessFile(rig.primary().toFile(), "rw")) {
                f.seek(40L << 20);
                f.write(new byte[256 << 10]);
                f.seek(3L << 20);
                f.write(HostWrites.randomBytes(128 << 10, 23));
            }
            rig.startWedge();
            TaplineProcess.run(CLI, "resync", "--buffer", rig.buffer().toString(), "--volume", "vol1", "--full")
                    .orFail("resync");
            // And B restarts while C catches up.
            rig.replayer().close();
            rig.startReplayer("--forward", ReplicationRig.hostPort(cLink));
            HostWrites.random4k(rig, SIZE, 100, 24);
            awaitAll(rig, cData);
            assertEquals(Peers.md5(rig.primary()), Peers.md5(rig.replica()), "B == A");
            assertEquals(Peers.md5(rig.primary()), Peers.md5(cReplica), "C == A after the upstream resync");
        }
    }

    /** A's buffer synced to B, then B's forward buffer synced to C. */
    private void awaitAll(ReplicationRig rig, Path cData) throws Exception {
        rig.awaitSynced(Duration.ofSeconds(120));
        Path forward = dir.resolve("remote").resolve("vol1").resolve(CascadeForwarder.FORWARD_BUFFER);
        Poll.until(Duration.ofSeconds(20), () -> "the hop opens with B's first applied group: " + forward,
                () -> Files.isDirectory(forward));
        Peers.Result r = TaplineProcess.run(Duration.ofSeconds(150), "status", "--buffer", forward.toString(),
                "--wait-synced", "120");
        if (r.exitCode() != 0) {
            throw new AssertionError("B -> C not synced: " + r.output() + "\n--- B:\n" + rig.replayer().logText());
        }
    }
}
