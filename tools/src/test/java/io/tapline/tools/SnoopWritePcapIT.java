package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.snoop.volume.VolumeKey;
import io.tapline.snoop.volume.VolumeNames;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tapline snoop --interface lo --write-pcap DIR}: while the snoop replicates nbdcopy's and
 * qemu-io's writes to an nbdkit export (replica md5-identical), it keeps a ring of at most
 * {@code --write-pcap-files} pcap files of at most {@code --write-pcap-size}; tshark reads each
 * one and finds the NBD connection's frames in it, and the last write (a 4 KiB pattern) can be shown on the wire from
 * the ring. With {@code --snaplen 128} no frame kept is longer, and the write cut short
 * becomes a GAP. Needs root, nbdkit, libnbd-bin, qemu-utils and tshark; {@code .ci/run} installs them.
 */
class SnoopWritePcapIT {
    private static final long EXPORT_BYTES = 16L << 20;
    private static final long RING_FILE_BYTES = 1L << 20;
    private static final int RING_FILES = 3;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void theRingHoldsTheNewestTrafficInBoundedFilesTsharkReads() throws Exception {
        int port = Peers.freePort();
        Path ringDir = dir.resolve("evidence");
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(EXPORT_BYTES);
            }
            rig.startReplayer();
            rig.startSnoop(port, "--write-pcap", ringDir.toString(), "--write-pcap-size", Long.toString(RING_FILE_BYTES),
                    "--write-pcap-files", Integer.toString(RING_FILES));
            Path pidFile = dir.resolve("nbdkit.pid");
            rig.ownPidFile(pidFile);
            Peers.ok(SnoopRig.PEER, "nbdkit", "-P", pidFile.toString(), "--port", Integer.toString(port), "-i",
                    "127.0.0.1", "file", image.toString());
            Poll.until(SnoopRig.START, () -> "nbdkit pid file", Poll.of(() -> Files.exists(pidFile) && Files.size(pidFile) > 0));

            byte[] data = new byte[(int) EXPORT_BYTES];
            new Random(11).nextBytes(data);
            Path src = dir.resolve("src.img");
            Files.write(src, data);
            String uri = "nbd://127.0.0.1:" + port;
            Peers.ok(SnoopRig.PEER, "nbdcopy", src.toString(), uri);
            Peers.ok(SnoopRig.PEER, "qemu-io", "-f", "raw", "-c", "write -P 0xa5 1048576 4k", "-c", "flush", uri);

            String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));
            rig.awaitReplicaEquals(volume, image, Duration.ofMinutes(2));
            rig.snoop().close(); // SIGTERM: the ring writes what it holds and closes its file
            assertTrue(rig.snoop().logText().contains("framesLeftOut=0"), rig.snoop().logText());

            List<Path> files;
            try (Stream<Path> s = Files.list(ringDir)) {
                files = s.sorted().toList();
            }
            assertEquals(RING_FILES, files.size(), "16 MiB of traffic fills more than " + RING_FILES + " files: " + files);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (Path f : files) {
                assertTrue(Files.size(f) <= RING_FILE_BYTES, f + ": " + Files.size(f) + " bytes");
                String frames = Peers.ok(Duration.ofSeconds(60), "tshark", "-r", f.toString(), "-Y", "tcp.port==" + port,
                        "-T", "fields", "-e", "frame.number");
                assertTrue(frames.lines().filter(l -> l.matches("\\d+")).count() > 10, "tshark reads the NBD connection in " + f);
                all.write(Files.readAllBytes(f));
            }
            byte[] pattern = new byte[4096];
            java.util.Arrays.fill(pattern, (byte) 0xa5);
            assertTrue(ByteSearch.contains(all.toByteArray(), pattern), "the ring shows the last write's 4 KiB on the wire");
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aShortSnaplenCutsFramesAndTheCutWriteBecomesAGap() throws Exception {
        int port = Peers.freePort();
        Path ringDir = dir.resolve("evidence");
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(EXPORT_BYTES);
            }
            rig.startSnoop(port, "--snaplen", "128", "--write-pcap", ringDir.toString());
            Path pidFile = dir.resolve("nbdkit.pid");
            rig.ownPidFile(pidFile);
            Peers.ok(SnoopRig.PEER, "nbdkit", "-P", pidFile.toString(), "--port", Integer.toString(port), "-i",
                    "127.0.0.1", "file", image.toString());
            Poll.until(SnoopRig.START, () -> "nbdkit pid file", Poll.of(() -> Files.exists(pidFile) && Files.size(pidFile) > 0));
            Peers.ok(SnoopRig.PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k", "-c", "flush",
                    "nbd://127.0.0.1:" + port);

            String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));
            Poll.until(Duration.ofSeconds(60), () -> "a GAP for the cut write in " + rig.buffer(), Poll.of(() -> {
                Peers.Result st = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(),
                        "--volume", volume, "--json");
                return st.exitCode() == 0 && io.tapline.tools.cli.Json.mapper().readTree(st.output()).get("volumes")
                        .get(0).get("gapRecords").asLong() > 0;
            }));
            rig.snoop().close();
            long longest = 0;
            long frames = 0;
            try (Stream<Path> s = Files.list(ringDir)) {
                for (Path f : s.toList()) {
                    for (String l : Peers.ok(Duration.ofSeconds(60), "tshark", "-r", f.toString(), "-T", "fields", "-e",
                            "frame.cap_len").lines().filter(l -> l.matches("\\d+")).toList()) {
                        longest = Math.max(longest, Long.parseLong(l));
                        frames++;
                    }
                }
            }
            assertTrue(frames > 10, "frames in the ring: " + frames);
            assertEquals(128, longest, "libpcap kept at most --snaplen bytes of each frame");
        }
    }
}
