package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.tools.cli.Json;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handshake proves both sides share one history (issue "Operators and auditors", item 2):
 * while the wedge is down, another source with the same id and volume (a forged or mistaken one)
 * writes the sequence after the replica's; the real wedge, back, must not skip its own record of
 * that sequence as "already applied". It finds the replica's last record is not its own (its CRC,
 * or a sequence past its own buffer's end), tells the replayer, which marks the replica out of sync
 * (audited), and a whole-volume resync makes the replica equal the primary again.
 */
class HistoryProofIT {
    private static final Duration CLI = Duration.ofSeconds(60);
    private static final long SIZE = 32L << 20;

    @TempDir
    Path dir;

    @Test
    void aRecordWrittenByAnotherSourceIsFoundAndHealedNeverSkipped() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            HostWrites.random4k(rig, SIZE, 200, 61);
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.wedge().close(); // an ordinary restart: the histories match, nothing is flagged
            rig.startWedge();
            HostWrites.random4k(rig, SIZE, 20, 60);
            rig.awaitSynced(Duration.ofSeconds(60));
            String before = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            assertTrue(!before.contains("diverged"), "no divergence after an ordinary restart: " + before);
            long n = status(rig.buffer()).get("volumes").get(0).get("captured").asLong();
            rig.wedge().close();

            // The other source continues the replica's sequence with its own data.
            Path forgedBuffer = dir.resolve("forged-buffer");
            CaptureBuffer.startAt(forgedBuffer.resolve("vol1"), "vol1", n + 1);
            InetSocketAddress forgedNbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
            try (TaplineProcess forged = TaplineProcess.start(dir.resolve("forged.log"), "wedge", "--nbd",
                    ReplicationRig.hostPort(forgedNbd), "--export", "vol1", "--volume", dir.resolve("forged.img")
                            .toString(), "--size", Long.toString(SIZE), "--buffer", forgedBuffer.toString(), "--remote",
                    ReplicationRig.hostPort(rig.linkAddress)).awaitListening(forgedNbd, ReplicationRig.START)) {
                Peers.ok(Duration.ofMinutes(2), "qemu-io", "-f", "raw", "-c", "write -P 0xee 0 64k",
                        "nbd://" + ReplicationRig.hostPort(forgedNbd) + "/vol1");
                TaplineProcess.run(CLI, "status", "--buffer", forgedBuffer.toString(), "--wait-synced", "30")
                        .orFail("the forged record reached the replica");
            }

            rig.startWedge(); // the real source comes back; its host writes the same sequences again
            HostWrites.random4k(rig, SIZE, 50, 62);
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            // The forged source's last record (its WRITE, then qemu-io's FLUSH) is the one found: by its
            // CRC when the real host wrote past it before the link came up, else because the replica is
            // ahead of the real buffer, which then numbers past it (CaptureBuffer.numberPast).
            assertTrue(audit.contains("diverged: the replica's record at seq " + (n + 2))
                    || audit.contains("is at seq " + (n + 2) + " but this capture buffer ends at seq "), audit);
        }
    }

    private static JsonNode status(Path buffer) throws Exception {
        String out = TaplineProcess.run(CLI, "status", "--buffer", buffer.toString(), "--json").output();
        return Json.mapper().readTree(out.substring(out.indexOf('{')));
    }
}
