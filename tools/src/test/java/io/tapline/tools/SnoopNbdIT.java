package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.snoop.volume.VolumeKey;
import io.tapline.snoop.volume.VolumeNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live passive capture of NBD on {@code lo}: nbdkit's file plugin serves a file; nbdcopy (several
 * connections) and qemu-io (random writes, zeroes, discards, flush) write; {@code tapline snoop}
 * captures and ships to a replayer. The replica must end byte-identical (md5) to nbdkit's file.
 * Needs root, nbdkit, libnbd-bin and qemu-utils; {@code .ci/run} installs them.
 */
class SnoopNbdIT {
    private static final long EXPORT_BYTES = 48L << 20;
    private static final Duration PEER = SnoopRig.PEER;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void nbdcopyAndQemuIoWritesReachTheReplicaByteForByte() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(EXPORT_BYTES);
            }
            rig.startReplayer();
            java.net.InetSocketAddress http = new java.net.InetSocketAddress("127.0.0.1", Peers.freePort());
            rig.startSnoop(port, "--http", ReplicationRig.hostPort(http));
            NbdHostTraffic.startNbdkit(rig, port, image);
            String uri = "nbd://127.0.0.1:" + port;

            byte[] data = new byte[(int) EXPORT_BYTES];
            new Random(5).nextBytes(data);
            java.util.Arrays.fill(data, 16 << 20, 20 << 20, (byte) 0);
            Path src = dir.resolve("src.img");
            Files.write(src, data);
            Peers.ok(PEER, "nbdcopy", "--connections=2", src.toString(), uri);

            List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
            Random rnd = new Random(9);
            for (int i = 0; i < 200; i++) {
                long offset = (long) rnd.nextInt((int) (EXPORT_BYTES / 4096)) * 4096;
                cmd.add("-c");
                cmd.add(switch (i % 20) {
                    case 0 -> "write -z " + offset + " 64k";
                    case 1 -> "discard " + offset + " 64k";
                    default -> "write -P " + (1 + rnd.nextInt(255)) + " " + offset + " 4k";
                });
            }
            cmd.add("-c");
            cmd.add("flush");
            cmd.add(uri);
            Peers.run(PEER, cmd).orFail("qemu-io");

            String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));
            rig.awaitReplicaEquals(volume, image, Duration.ofMinutes(2));
            // The live snoop's page and metrics: packets decoded, none dropped, the volume's state.
            assertTrue(ReplicationRig.metric(http, "tapline_snoop_packets_total") > 1000);
            assertEquals(0.0, ReplicationRig.metric(http, "tapline_snoop_dropped_packets_total"));
            String status = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://" + ReplicationRig.hostPort(http) + "/status.json")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(status.contains("\"volume\" : \"" + volume + "\""), status);
        }
    }
}
