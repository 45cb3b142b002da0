package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source's files on real small disks (a loop-mounted ext4 of a few hundred MiB, filled by
 * real host writes through the wedge with qemu-img and qemu-io):
 * <ul>
 *   <li>the capture buffer's filesystem fills while the line to the replayer is slow: the host's
 *       writes all succeed (nothing acknowledged is lost), the buffer tracks changed chunks and
 *       says why; once space returns it stores records again, a resync heals the replica, and a
 *       restart opens the buffer cleanly (no corruption);</li>
 *   <li>the primary volume's filesystem is full: the host gets EIO for the write that did not
 *       fit, and after the heal the replica equals the primary, so the bytes of a write the host
 *       was told failed do not stay on the replica.</li>
 * </ul>
 * Needs root and loop devices (CI has them); every mount and loop device is undone in finally.
 */
class SourceSmallDiskIT {
    private static final Duration PEER = Duration.ofMinutes(5);

    @TempDir
    Path dir;

    @Test
    void bufferOnAFullDiskTracksChunksAndHealsWhenSpaceReturns() throws Exception {
        long volumeBytes = 256L << 20;
        try (SmallFs fs = SmallFs.create(dir.resolve("buffer-fs.img"), 200L << 20, dir.resolve("buffer"));
                ReplicationRig rig = new ReplicationRig(dir, volumeBytes)) { // the processes stop before the unmount
            Path filler = fs.fillLeaving(24L << 20);
            rig.startReplayer();
            rig.startWedge("--segment-size", "4M");
            String b = rig.buffer().toString();
            TaplineProcess.run(PEER, "ship", "pause", "--buffer", b, "--volume", ReplicationRig.EXPORT)
                    .orFail("ship pause"); // the replayer stays attached; nothing is shipped, nothing freed

            Path data = HostWrites.randomFile(dir.resolve("data.img"), 96, 41);
            Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", data.toString(), rig.uri());
            assertEquals(Peers.md5(data), Peers.md5Prefix(rig.primary(), Files.size(data)),
                    "every byte the host was told is written is on the primary");
            HostWrites.random4k(rig, volumeBytes, 50, 42); // and more while the buffer's disk is full
            // Metrics, served from memory (the status files sit on the full disk): FULL, the chunks tracked.
            Poll.until(Duration.ofSeconds(30), () -> "tracked chunks and lost writes in the metrics", Poll.of(
                    () -> ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_tracked_chunks") != 0
                            && ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_lost_writes") > 0));
            // Space has not returned, so FULL stays FULL across the buffer's retries (about one a second, each
            // at a host write): a ~100-byte GAP fits a segment's last block, and leaving FULL on it said DATA
            // while writes were lost. The host's writes pace the samples over 4 s (no sleep).
            long until = System.nanoTime() + 4_000_000_000L;
            for (int i = 0; System.nanoTime() < until; i++) {
                HostWrites.random4k(rig, volumeBytes, 5, 100 + i);
                assertEquals(2.0, ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_mode"), "sample " + i);
            }
            assertTrue(rig.wedge().logText().contains("capture buffer cannot store records")
                    && rig.wedge().logText().contains("No space left on device"), rig.wedge().logText());
            List<String> errors = rig.wedge().logText().lines().filter(l -> l.contains(" ERROR ")).toList();
            assertEquals(1, errors.size(), "one clean ERROR line for the full disk, nothing else: " + errors);

            Files.delete(filler); // space returns
            TaplineProcess.run(PEER, "ship", "resume", "--buffer", b, "--volume", ReplicationRig.EXPORT)
                    .orFail("ship resume");
            rig.awaitSynced(Duration.ofSeconds(240)); // the host is idle: the source leaves FULL by itself
            JsonNode volume = status(rig).get("volumes").get(0);
            assertEquals(0, volume.get("trackedChunks").asLong(), volume.toString());
            assertTrue(volume.get("storageError").isNull(), volume.toString());
            assertTrue(volume.get("gapRecords").asLong() >= 1, volume.toString());
            assertEquals("consistent", volume.get("remotes").get(0).get("replica").asText(), volume.toString());
            rig.assertReplicaMatchesPrimary();

            // The buffer on the once-full filesystem reopens cleanly: nothing in it is corrupt.
            rig.wedge().close();
            rig.startWedge("--segment-size", "4M");
            HostWrites.random4k(rig, volumeBytes, 20, 44);
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            String log = rig.wedge().logText();
            assertTrue(log.contains("capture buffer opened") && !log.contains("corrupt"), log);
        }
    }

    @Test
    void primaryOnAFullDiskFailsTheHostWriteAndTheReplicaEqualsThePrimaryAfterHeal() throws Exception {
        long volumeBytes = 64L << 20;
        Path mnt = dir.resolve("primary-fs");
        try (SmallFs fs = SmallFs.create(dir.resolve("primary-fs.img"), 128L << 20, mnt);
                ReplicationRig rig = new ReplicationRig(dir, volumeBytes)) {
            Files.createSymbolicLink(rig.primary(), mnt.resolve("primary.img"));
            Path filler = fs.fillLeaving(6L << 20);
            rig.start();
            HostWrites.random4k(rig, 4L << 20, 20, 51); // fits: allocated before the disk is full
            Peers.Result failed = Peers.run(PEER, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x5a 8M 16M",
                    "-c", "write -P 0x6b 32M 8M", rig.uri()));
            assertTrue(failed.output().contains("No space left on device"), "the host is told ENOSPC (proto.md): "
                    + failed.output());
            assertTrue(rig.wedge().logText().contains("primary write failed"), rig.wedge().logText());

            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary(); // the failed writes' bytes the primary lacks are not on the replica
            JsonNode volume = status(rig).get("volumes").get(0);
            assertTrue(volume.get("gapRecords").asLong() >= 1, "a GAP followed the failed writes: " + volume);
            assertTrue(volume.get("resync").get("epochsCompleted").asLong() >= 1, "healed by a resync: " + volume);
            byte[] tail = new byte[4096];
            try (var ch = java.nio.channels.FileChannel.open(rig.replica())) {
                ch.read(java.nio.ByteBuffer.wrap(tail), (32L << 20) + (8L << 20) - 4096);
            }
            assertNotEquals(0x6b, tail[0] & 0xFF, "the write the host was told failed is not on the replica");
            Files.delete(filler);
        }
    }

    @Test
    void primaryAndBufferOnOneFullDiskFailOnlyTheWritesThatDoNotFitAndHeal() throws Exception {
        long volumeBytes = 64L << 20;
        Path mnt = dir.resolve("one-fs");
        try (SmallFs fs = SmallFs.create(dir.resolve("one-fs.img"), 160L << 20, mnt);
                ReplicationRig rig = new ReplicationRig(dir, volumeBytes)) {
            Files.createSymbolicLink(rig.primary(), mnt.resolve("primary.img"));
            Files.createSymbolicLink(rig.buffer(), Files.createDirectories(mnt.resolve("buffer")));
            Path filler = fs.fillLeaving(12L << 20);
            rig.start();
            HostWrites.random4k(rig, 4L << 20, 20, 61);
            Peers.Result failed = Peers.run(PEER, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x5a 8M 24M",
                    "-c", "write -P 0x6b 40M 8M", rig.uri()));
            assertTrue(failed.output().contains("No space left on device"), "the host is told ENOSPC (proto.md): "
                    + failed.output());
            // Metrics, served from memory: the status files are on the full disk too.
            Poll.until(Duration.ofSeconds(60), () -> "FULL with every record acknowledged; wedge log:\n"
                    + rig.wedge().logText(), Poll.of(
                    () -> ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_mode") == 2.0
                            && ReplicationRig.metric(rig.wedgeMetrics, "tapline_link_acked_sequence")
                            == ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_captured_sequence")));
            // No acknowledgement is left to come: nothing but the source itself can notice the space.
            Files.delete(filler); // space returns for both, and the host stays idle: the source leaves FULL by itself
            rig.awaitSynced(Duration.ofSeconds(180));
            rig.assertReplicaMatchesPrimary();
            String log = rig.wedge().logText();
            assertTrue(log.contains("primary write failed"), log);
        }
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(), "--json")
                .output();
        return Json.mapper().readTree(json.substring(json.indexOf('{')));
    }

    /** A loop-mounted ext4 of a given size; {@link #close} unmounts and detaches it, even after a failure. */
    private static final class SmallFs implements AutoCloseable {
        private final Path mnt;
        private String loop;
        private boolean mounted;

        private SmallFs(Path mnt) {
            this.mnt = mnt;
        }

        static SmallFs create(Path image, long bytes, Path mnt) throws IOException, InterruptedException {
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(bytes);
            }
            Peers.ok(PEER, "mkfs.ext4", "-q", "-F", "-m", "0", image.toString());
            SmallFs fs = new SmallFs(Files.createDirectories(mnt));
            try {
                fs.loop = Peers.ok(PEER, "losetup", "-f", "--show", image.toString()).trim();
                Peers.ok(PEER, "mount", fs.loop, mnt.toString());
                fs.mounted = true;
                Files.delete(mnt.resolve("lost+found"));
                return fs;
            } catch (IOException | InterruptedException | RuntimeException | AssertionError e) {
                fs.close();
                throw e;
            }
        }

        /** Places a filler file so that about {@code leaveBytes} stay free; deleting it gives the space back. */
        Path fillLeaving(long leaveBytes) throws IOException, InterruptedException {
            Path filler = mnt.resolve("filler.bin");
            long usable = Files.getFileStore(mnt).getUsableSpace();
            Peers.ok(PEER, "fallocate", "-l", Long.toString(usable - leaveBytes), filler.toString());
            return filler;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            if (mounted) {
                if (Peers.run(PEER, "umount", mnt.toString()).exitCode() != 0) {
                    Peers.run(PEER, "umount", "-l", mnt.toString());
                }
                mounted = false;
            }
            if (loop != null) {
                Peers.run(PEER, "losetup", "-d", loop);
                loop = null;
            }
        }
    }
}
