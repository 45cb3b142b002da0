package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.snoop.volume.VolumeKey;
import io.tapline.snoop.volume.VolumeNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live snoop of NBD on {@code lo} while the target answers writes with EIO (nbdkit's error
 * filter, switched on by a trigger file): a write the target did not confirm is never replayed,
 * but it may have changed the target, so its range becomes a GAP (counted in status), the replica
 * is out of sync there, and the resync from the snoop's {@code --source} (nbdkit serving the same
 * file read-only on another port) heals it: the replica ends equal to the target's file.
 * Needs root, nbdkit, qemu-utils.
 */
class SourceSnoopUnconfirmedWriteIT {
    private static final long EXPORT_BYTES = 16L << 20;
    private static final Duration PEER = SnoopRig.PEER;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aWriteAnsweredWithAnErrorBecomesAGapAndIsHealedByTheResync() throws Exception {
        int port = Peers.freePort();
        int sourcePort = Peers.freePort();
        String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));
        Path image = dir.resolve("export.img");
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(EXPORT_BYTES);
        }
        Path trigger = dir.resolve("fail-writes");
        try (SnoopRig rig = new SnoopRig(dir)) {
            rig.startPeer("nbdkit-source", "nbdkit", "-f", "-r", "-i", "127.0.0.1", "-p", Integer.toString(sourcePort),
                    "file", image.toString());
            Peers.awaitPort(sourcePort, Duration.ofSeconds(30));
            rig.startReplayer();
            rig.startSnoop(port, "--source", volume + "=nbd://127.0.0.1:" + sourcePort + "/");
            rig.startPeer("nbdkit", "nbdkit", "-f", "-i", "127.0.0.1", "-p", Integer.toString(port),
                    "--filter=error", "file", image.toString(), "error-pwrite=EIO", "error-pwrite-rate=100%",
                    "error-pwrite-file=" + trigger);
            Peers.awaitPort(port, Duration.ofSeconds(30));
            String uri = "nbd://127.0.0.1:" + port;

            HostWrites.random4k(uri, EXPORT_BYTES, 50, 71);
            Files.createFile(trigger);
            Peers.Result failed = Peers.run(PEER, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x77 1M 64k",
                    "-c", "flush", uri));
            assertTrue(failed.output().contains("Input/output error"), "the host is told: " + failed.output());
            Files.delete(trigger);
            HostWrites.random4k(uri, EXPORT_BYTES, 50, 72);

            rig.awaitReplicaEquals(volume, image, Duration.ofMinutes(3), true);
            String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                    "--volume", volume, "--json").orFail("status --json").output();
            JsonNode v = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('{')))
                    .get("volumes").get(0);
            assertTrue(v.get("gapRecords").asLong() >= 1, "the unconfirmed write is a GAP: " + json);
            assertTrue(v.get("resync").get("epochsCompleted").asLong() >= 1, "healed by a resync: " + json);
            assertTrue(rig.snoop().logText().contains("write not confirmed"), rig.snoop().logText());
        }
    }
}
