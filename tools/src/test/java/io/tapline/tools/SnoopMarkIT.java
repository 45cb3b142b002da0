package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.snoop.volume.VolumeKey;
import io.tapline.snoop.volume.VolumeNames;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snoop has the wedge's source side: {@code tapline mark} against a live snoop's buffer puts a
 * named MARK into the captured stream (ordered with the host's writes nbdkit answered), it reaches
 * the replica's mark index and audit log as the wedge's do ({@code tapline image --mark} rebuilds
 * the export as it was at the mark), and {@code --http} serves the wedge's per-volume meters
 * (buffer, link, replica). Live on {@code lo}: root, nbdkit, nbdcopy, qemu-io.
 */
class SnoopMarkIT {
    private static final long EXPORT_BYTES = 16L << 20;
    private static final Duration CLI = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void aMarkOnALiveSnoopReachesTheReplicaAndItsImage() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(EXPORT_BYTES);
            }
            rig.startReplayer();
            InetSocketAddress http = new InetSocketAddress("127.0.0.1", Peers.freePort());
            rig.startSnoop(port, "--http", ReplicationRig.hostPort(http));
            NbdHostTraffic.startNbdkit(rig, port, image);
            String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));

            NbdHostTraffic.write(dir, port, 1, EXPORT_BYTES);
            rig.awaitReplicaEquals(volume, image, Duration.ofMinutes(2));
            Path atMark = dir.resolve("at-mark.img");
            Files.copy(image, atMark);
            String json = TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume", volume,
                    "--json", "before-upgrade").orFail("mark").output();
            long markSeq = io.tapline.tools.cli.Json.mapper().readTree(json).get("sequence").asLong();
            assertTrue(markSeq > 1, json);

            NbdHostTraffic.write(dir, port, 2, EXPORT_BYTES);
            rig.awaitReplicaEquals(volume, image, Duration.ofMinutes(2));
            assertNotEquals(Peers.md5(atMark), Peers.md5(image), "the writes after the mark changed the export");

            Path out = dir.resolve("image-at-mark.img");
            TaplineProcess.run(CLI, "image", "--data", dir.resolve("remote").toString(), "--volume", volume,
                    "--mark", "before-upgrade", "--out", out.toString()).orFail("image --mark");
            assertEquals(Peers.md5(atMark), Peers.md5(out), "the replica's image at the snoop's mark");
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", volume, "--kind", "mark", "--json").orFail("audit list").output();
            assertTrue(audit.contains("before-upgrade"), audit);
            TaplineProcess.run(CLI, "audit", "verify", "--data", dir.resolve("remote").toString(), "--volume", volume)
                    .orFail("audit verify");

            // The wedge's per-volume meters, for the snoop's volume.
            assertTrue(ReplicationRig.metric(http, "tapline_buffer_captured_sequence") > markSeq);
            assertEquals(1.0, ReplicationRig.metric(http, "tapline_link_connected"));
            assertTrue(ReplicationRig.metric(http, "tapline_link_acked_sequence") > markSeq);
            assertEquals(0.0, ReplicationRig.metric(http, "tapline_buffer_gap_records"));
        }
    }
}
