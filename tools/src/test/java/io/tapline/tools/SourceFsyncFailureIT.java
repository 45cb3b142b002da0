package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real failed fsync of the wedge's primary, in a real wedge process: the primary is a file on
 * an ext4 whose disk is served by nbdkit (its error filter fails every write while a trigger file
 * exists) through nbdfuse and a loop device, so the write-back of the wedge's fdatasync fails
 * with EIO; Linux then marks those pages clean and a retried fdatasync reports success. After that the host's FLUSH and
 * writes get EIO even once the fault has cleared (a retried fsync would succeed: the "fsyncgate"
 * lesson), status shows the volume failed with the reason, the wedge says it at ERROR once; the
 * restart finds the buffer closed without its clean-shutdown marker, tracks every chunk, and the
 * resync leaves the replica equal to the primary. Needs root, FUSE, nbdkit, nbdfuse, qemu-utils.
 */
class SourceFsyncFailureIT {
    private static final long VOLUME_BYTES = 32L << 20;
    private static final Duration PEER = Duration.ofMinutes(2);

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aFailedPrimaryFsyncFailsTheVolumeUntilRestartAndTheRestartHeals() throws Exception {
        try (FaultyExt4 fs = FaultyExt4.mount(dir, "primary");
                ReplicationRig rig = new ReplicationRig(dir, VOLUME_BYTES)) {
            Path primary = fs.mnt.resolve("primary.img");
            Files.write(primary, new byte[(int) VOLUME_BYTES]); // allocated: overwrites change no metadata
            Peers.ok(PEER, "sync");
            Files.createSymbolicLink(rig.primary(), primary);
            rig.start();
            HostWrites.random4k(rig, VOLUME_BYTES, 50, 81); // ends with a flush that succeeds
            rig.awaitSynced(Duration.ofSeconds(60));

            Files.createFile(fs.trigger);
            // qemu-io writes through (a FLUSH after the write): the wedge's fdatasync fails, the host gets EIO
            Peers.Result failed = Peers.run(PEER, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x11 1M 64k",
                    rig.uri()));
            assertTrue(failed.output().contains("Input/output error"), "the host is told: " + failed.output()
                    + "\n--- wedge log:\n" + rig.wedge().logText());
            Files.delete(fs.trigger); // the disk answers again: a retried fdatasync now succeeds, the data is gone
            assertLaterFlushAndWriteFail(rig);

            JsonNode[] volume = new JsonNode[1];
            Poll.until(Duration.ofSeconds(30), () -> "status naming the failure: " + volume[0], Poll.of(() -> {
                volume[0] = status(rig).get("volumes").get(0);
                return volume[0].get("storageError").asText()
                        .contains("volume failed until restart: primary fsync failed");
            }));
            assertTrue(!volume[0].get("synced").asBoolean(), volume[0].toString());
            assertOneErrorLine(rig);

            rig.wedge().close();
            rig.startWedge();
            rig.wedge().awaitLogLine("was not closed cleanly", Duration.ofSeconds(30));
            HostWrites.random4k(rig, VOLUME_BYTES, 20, 82);
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aFailedBufferFsyncFailsTheVolumeUntilRestartAndTheRestartHeals() throws Exception {
        try (FaultyExt4 fs = FaultyExt4.mount(dir, "buffer");
                ReplicationRig rig = new ReplicationRig(dir, VOLUME_BYTES)) {
            fs.holds(rig.buffer());
            rig.start();
            HostWrites.random4k(rig, VOLUME_BYTES, 50, 91);
            rig.awaitSynced(Duration.ofSeconds(60));

            Files.createFile(fs.trigger);
            Peers.Result failed = Peers.run(PEER, List.of("qemu-io", "-f", "raw", "-c", "write -P 0x11 1M 64k",
                    rig.uri()));
            assertTrue(failed.output().contains("Input/output error"), "the host is told: " + failed.output()
                    + "\n--- wedge log:\n" + rig.wedge().logText());
            Files.delete(fs.trigger);
            assertLaterFlushAndWriteFail(rig);
            // The status files live on the failed disk too: the metric, served from memory, says it.
            Poll.until(Duration.ofSeconds(30), () -> "tapline_buffer_storage_error 1", Poll.of(
                    () -> ReplicationRig.metric(rig.wedgeMetrics, "tapline_buffer_storage_error") == 1.0));
            assertOneErrorLine(rig);
            assertTrue(rig.wedge().logText().contains("capture buffer sync failed"), rig.wedge().logText());

            rig.wedge().close();
            fs.remount(); // ext4 may have aborted its journal on the failed write-back: a fresh mount replays it
            rig.startWedge();
            rig.wedge().awaitLogLine("was not closed cleanly", Duration.ofSeconds(30));
            HostWrites.random4k(rig, VOLUME_BYTES, 20, 92);
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
        }
    }

    private static void assertLaterFlushAndWriteFail(ReplicationRig rig) throws Exception {
        // qemu skips a FLUSH when it wrote nothing since the last one: nbdsh sends it as it is
        Peers.Result flush = Peers.run(PEER, List.of("env", "PATH=/usr/bin:/bin", "nbdsh", "-u", rig.uri(), "-c",
                "h.flush()")); // the system python3, which has libnbd's module
        assertTrue(flush.exitCode() != 0 && flush.output().contains("Input/output error"),
                "no FLUSH succeeds after a failed fsync: " + flush.output());
        Peers.Result write = Peers.run(PEER, List.of("qemu-io", "-f", "raw", "-t", "writeback", "-c",
                "write -P 0x22 2M 4k", rig.uri()));
        assertTrue(write.output().contains("Input/output error"), "nor a write: " + write.output());
    }

    private static void assertOneErrorLine(ReplicationRig rig) {
        String log = rig.wedge().logText();
        assertEquals(1, log.split("volume failed, data at risk", -1).length - 1, "one ERROR line: " + log);
    }

    private static JsonNode status(ReplicationRig rig) throws Exception {
        String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", rig.buffer().toString(), "--json")
                .output();
        return Json.mapper().readTree(json.substring(json.indexOf('{')));
    }
}
