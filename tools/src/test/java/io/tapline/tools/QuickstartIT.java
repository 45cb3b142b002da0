package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's main command: the embedded default replicates what a client writes. */
class QuickstartIT {
    @TempDir
    Path dir;

    @Test
    void quickstartReplicatesAWriteToTheReplica() throws Exception {
        InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
        InetSocketAddress link = new InetSocketAddress("127.0.0.1", Peers.freePort());
        Path data = dir.resolve("tapline-data");
        try (TaplineProcess qs = TaplineProcess.start(dir.resolve("quickstart.log"), "quickstart", "--dir", data.toString(),
                "--size", "64M", "--nbd", ReplicationRig.hostPort(nbd), "--link", ReplicationRig.hostPort(link))
                .awaitListening(nbd, Duration.ofSeconds(60))) {
            String uri = "nbd://" + ReplicationRig.hostPort(nbd) + "/vol1";
            Peers.ok(Duration.ofMinutes(2), "qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "flush", uri);
            TaplineProcess.run(Duration.ofSeconds(90), "status", "--buffer", data.resolve("buffer").toString(),
                    "--wait-synced", "60").orFail("status --wait-synced");
            Path primary = data.resolve("primary").resolve("vol1.img");
            Path replica = data.resolve("remote").resolve("vol1").resolve("replica.img");
            assertEquals(Peers.md5(primary), Peers.md5(replica));
            assertTrue(qs.logText().contains("qemu-io -f raw"), "prints what to connect:\n" + qs.logText());
        }
    }
}
