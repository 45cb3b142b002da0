package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a source tells a replayer that is gone or hung from one that is only far away. First, a
 * replayer whose path vanishes (a network namespace's veth taken down: no FIN, no RST reaches
 * either side, as when its host loses power or a cable is pulled) while the link is idle and
 * synced. The source must stop calling the link connected within its dead-peer detection (TCP
 * keepalive and the 30 s user timeout; the kernel's defaults took ~15 minutes with the source's
 * once-a-second SourceHead in flight), and when the path comes back both sides must meet again
 * by themselves: the replayer has dropped the silent session, so the source is not refused as
 * "volume busy", and the replica ends equal to the primary.
 */
class LinkLivenessIT {
    private static final Duration PEER = Duration.ofMinutes(2);

    @TempDir
    Path dir;

    @Test
    void sourceNoticesAVanishedReplayerOnAnIdleLinkAndRejoinsWhenThePathReturns() throws Exception {
        try (NetworkNamespace ns = new NetworkNamespace()) {
            Path credential = dir.resolve("credential");
            Files.writeString(credential, "vanished-peer-test-secret\n");
            InetSocketAddress link = new InetSocketAddress(ns.insideAddress(), 17000 + Peers.freePort() % 1000);
            InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
            String linkHostPort = ReplicationRig.hostPort(link);
            try (TaplineProcess replayer = TaplineProcess.startWithPrefix(dir.resolve("replay.log"), ns.exec(),
                    "replay", "--listen", linkHostPort, "--data", dir.resolve("remote").toString(),
                    "--credential-file", credential.toString(), "--insecure").awaitListening(link, ReplicationRig.START);
                    TaplineProcess wedge = TaplineProcess.start(dir.resolve("wedge.log"), "wedge", "--nbd",
                            ReplicationRig.hostPort(nbd), "--export", "vol1", "--volume",
                            dir.resolve("primary.img").toString(), "--size", "64M", "--buffer",
                            dir.resolve("buffer").toString(), "--remote", linkHostPort, "--credential-file",
                            credential.toString()).awaitListening(nbd, ReplicationRig.START)) {
                String uri = "nbd://" + ReplicationRig.hostPort(nbd) + "/vol1";
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x31 0 4M", uri);
                ReplicationRig.awaitSynced(dir.resolve("buffer"), Duration.ofSeconds(60), wedge, replayer);

                ns.cut();
                long cut = System.nanoTime();
                JsonNode remote = ReplicationRig.awaitFirstRemote(dir.resolve("buffer"),
                        r -> !r.get("connected").asBoolean(), Duration.ofSeconds(90), wedge);
                long secondsToNotice = Duration.ofNanos(System.nanoTime() - cut).toSeconds();
                assertTrue(secondsToNotice <= 75, "noticed after " + secondsToNotice + " s: " + remote);
                assertTrue(!remote.get("lastError").asText().isEmpty(), remote.toString());

                ns.restore();
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x32 8M 4M", uri);
                ReplicationRig.awaitSynced(dir.resolve("buffer"), Duration.ofSeconds(150), wedge, replayer);
                String primary = Peers.md5(dir.resolve("primary.img"));
                String replica = Peers.md5(dir.resolve("remote").resolve("vol1").resolve("replica.img"));
                assertTrue(primary.equals(replica), "replica md5 " + replica + " != primary md5 " + primary);
            }
        }
    }

    /**
     * A line so slow that one 4 MiB batch takes 16 s to cross (a splitting proxy that takes the
     * whole batch at once, so no ACK and no sign from the socket for 16 s), and a silence timeout
     * of 1 s: the replayer's heartbeats come back meanwhile, so it is not taken for a hung one (a
     * rule on ACKs alone ended each session a second after it sent the batch, never synced).
     */
    @Test
    void aSlowLineIsNotTakenForAHungReplayer() throws Exception {
        long lineBytesPerSecond = 256 << 10;
        try (ReplicationRig rig = new ReplicationRig(dir, 32L << 20)) {
            rig.startReplayer();
            try (ShapedLine line = new ShapedLine(rig.linkAddress, lineBytesPerSecond);
                    TaplineProcess wedge = TaplineProcess.startWithJvmOptions(dir.resolve("wedge.log"),
                            List.of("-Xmx512m", "-Dtapline.ship.silenceTimeoutMillis=1000"), "wedge", "--nbd",
                            ReplicationRig.hostPort(rig.nbdAddress), "--export", "vol1", "--volume",
                            rig.primary().toString(), "--size", Long.toString(32L << 20), "--buffer",
                            rig.buffer().toString(), "--remote", ReplicationRig.hostPort(line.address()))
                            .awaitListening(rig.nbdAddress, ReplicationRig.START)) {
                Path data = HostWrites.randomFile(dir.resolve("data.img"), 4, 41); // random: LZ4 cannot shrink it
                Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", data.toString(), rig.uri());
                ReplicationRig.awaitSynced(rig.buffer(), Duration.ofSeconds(90), wedge, rig.replayer());
                assertTrue(!wedge.logText().contains("replayer not answering"), wedge.logText());
                rig.assertReplicaMatchesPrimary();
            }
        }
    }
}
