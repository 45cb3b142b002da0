package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * {@code tapline snoop --pcap FILE --remote R}: an import ships and waits. tcpdump records two
 * nbdkit exports written by nbdcopy and qemu-io; the import, filtered to one export's port, must
 * exit 0 only once the replayer acknowledged every record, with the replica byte-identical (md5)
 * to that export's file and nothing of the other export captured; the same import towards a
 * replayer that is not there exits 1 with one line after its --ship-timeout; the same import
 * again into a new buffer exits 0 and changes nothing (the replayer skips what it applied); an
 * import the replayer refuses (another size for that volume) exits 1 with one line. Needs root
 * (tcpdump), nbdkit, libnbd-bin and qemu-utils; {@code .ci/run} installs them.
 */
class SnoopImportIT {
    private static final long EXPORT_BYTES = 24L << 20;
    private static final Duration PEER = SnoopRig.PEER;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void importWithRemoteShipsTheFilteredExportAndWaitsUntilItsReplicaIsIdentical() throws Exception {
        int portA = Peers.freePort();
        int portB = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path imageA = export("a.img", EXPORT_BYTES);
            Path imageB = export("b.img", EXPORT_BYTES - (4L << 20));
            Path pcap = dir.resolve("two-exports.pcap");
            Process tcpdump = rig.startPeer("tcpdump", "tcpdump", "-i", "lo", "-s", "0", "-B", "131072", "-U", "-w",
                    pcap.toString(), "tcp port " + portA + " or tcp port " + portB);
            Poll.until(Duration.ofSeconds(20), () -> "tcpdump listening", Poll.of(() ->
                    Files.readString(dir.resolve("tcpdump.log")).contains("listening on")));
            NbdHostTraffic.startNbdkit(rig, portA, imageA);
            NbdHostTraffic.startNbdkit(rig, portB, imageB);
            NbdHostTraffic.write(dir, portA, 5, EXPORT_BYTES);
            NbdHostTraffic.write(dir, portB, 6, EXPORT_BYTES - (4L << 20));
            NbdHostTraffic.awaitStableSize(pcap);
            tcpdump.destroy();
            assertTrue(tcpdump.waitFor(30, TimeUnit.SECONDS), "tcpdump stops on SIGTERM");

            String volumeA = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + portA, ""));
            String volumeB = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + portB, ""));
            String ports = portA + "," + portB;

            // Nobody listens at the remote: the import captures, then gives up after --ship-timeout, in one line.
            String nobody = "127.0.0.1:" + Peers.freePort();
            Peers.Result stranded = TaplineProcess.run(Duration.ofMinutes(2), "snoop", "--pcap", pcap.toString(), "--blank-targets",
                    "--buffer", dir.resolve("stranded").toString(), "--remote", nobody, "--nbd-port", ports,
                    "--source-id", "import-it", "--ship-timeout", "3", "--json");
            assertEquals(1, stranded.exitCode(), stranded.output());
            assertTrue(stranded.output().contains("\"shipError\" : \"ship: not every record acknowledged"),
                    "the --json summary still comes, with the reason: " + stranded.output());
            String last = stranded.output().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(last.startsWith("tapline: ship: not every record acknowledged after 3 s (--ship-timeout): volume "),
                    stranded.output());
            assertTrue(last.contains("remote " + nobody), last);

            rig.startReplayer();
            Peers.Result shipped = TaplineProcess.run(Duration.ofMinutes(3), "snoop", "--pcap", pcap.toString(), "--blank-targets",
                    "--buffer", rig.buffer().toString(), "--remote", ReplicationRig.hostPort(rig.linkAddress),
                    "--nbd-port", ports, "--source-id", "import-it", "--filter", "tcp port " + portA, "--json");
            assertEquals(0, shipped.exitCode(), shipped.output());
            assertTrue(shipped.output().contains("tapline snoop: shipping: "), shipped.output());
            // The command returned: the replica must be complete now, no waiting.
            assertEquals(Peers.md5(imageA), Peers.md5(rig.replica(volumeA)), "replica of " + volumeA + " vs its export");
            assertFalse(Files.exists(rig.buffer().resolve(volumeB)), "the filter kept the other export out");
            assertFalse(Files.exists(rig.replica(volumeB)), "nothing of the other export shipped");

            JsonNode summary = io.tapline.tools.cli.Json.mapper().readTree(shipped.output().substring(
                    shipped.output().indexOf('{')));
            assertTrue(summary.get("filteredOutPackets").asLong() > 100, summary.toString());
            JsonNode remote = summary.get("remotes").get(0);
            assertEquals(volumeA, remote.get("volume").asText());
            assertTrue(remote.get("captured").asLong() > 100, remote.toString());
            assertEquals(remote.get("captured").asLong(), remote.get("acked").asLong(), remote.toString());

            // The same import again, into a new buffer: the same sequences; the replayer skips them all.
            Peers.Result again = TaplineProcess.run(Duration.ofMinutes(3), "snoop", "--pcap", pcap.toString(), "--blank-targets",
                    "--buffer", dir.resolve("again").toString(), "--remote", ReplicationRig.hostPort(rig.linkAddress),
                    "--nbd-port", ports, "--source-id", "import-it", "--filter", "tcp port " + portA);
            assertEquals(0, again.exitCode(), again.output());
            assertEquals(Peers.md5(imageA), Peers.md5(rig.replica(volumeA)), "replica unchanged by the re-import");

            // Export B (4 MiB smaller) named as A's volume: the replayer refuses the size; one line, exit 1.
            Peers.Result refused = TaplineProcess.run(Duration.ofMinutes(3), "snoop", "--pcap", pcap.toString(), "--blank-targets",
                    "--buffer", dir.resolve("refused").toString(), "--remote", ReplicationRig.hostPort(rig.linkAddress),
                    "--nbd-port", ports, "--source-id", "import-it", "--filter", "tcp port " + portB,
                    "--volume-map", "nbd:127.0.0.1:" + portB + "/*=" + volumeA, "--ship-timeout", "120");
            assertEquals(1, refused.exitCode(), refused.output());
            String line = refused.output().strip().lines().reduce((a, b) -> b).orElse("");
            assertTrue(line.startsWith("tapline: ship: remote " + ReplicationRig.hostPort(rig.linkAddress)
                    + " refused by replayer: "), refused.output());
            assertEquals(Peers.md5(imageA), Peers.md5(rig.replica(volumeA)), "the refused import changed nothing");
        }
    }

    private Path export(String name, long bytes) throws Exception {
        Path image = dir.resolve(name);
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return image;
    }
}
