package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hot standby, promotion, fencing and demotion with real hosts: the replayer serves its replica
 * as an NBD export that shows its size and refuses data until promoted; promoted, it mounts
 * through nbdfuse + loop and holds the primary's files; the old primary, restarted, is fenced;
 * demoted, the replica keeps what it wrote aside and is healed from the primary by checksums.
 */
class FailoverIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);
    private static final long SIZE = ReplicationRig.LARGE_VOLUME_BYTES;

    @TempDir
    Path dir;

    /**
     * A promotion the host never wrote through (an operator who promoted without --peer and
     * demotes to do it again): the replica is still the image it was, consistent, and a plain
     * promote is accepted again. It was marked "written outside the log" and needed --force.
     */
    @Test
    void aPromotionThatWroteNothingDemotesToTheSameConsistentReplica() throws Exception {
        InetSocketAddress standby = new InetSocketAddress("127.0.0.1", Peers.freePort());
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE)) {
            rig.startReplayer("--nbd", ReplicationRig.hostPort(standby));
            rig.startWedge();
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x5c 0 1M", rig.uri());
            rig.awaitSynced(Duration.ofSeconds(60));
            String remote = ReplicationRig.hostPort(rig.linkAddress);
            // A clean stop with a write its replica never got (shipping paused): a plain promotion is refused
            // (probe s62 AE D2: it was promoted as "planned, nothing lost" and the write was gone).
            TaplineProcess.run(CLI, "ship", "pause", "--buffer", rig.buffer().toString(), "--volume", "vol1")
                    .orFail("ship pause");
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x5d 1M 1M", "-c", "flush", rig.uri());
            rig.wedge().close();
            Peers.Result behind = TaplineProcess.run(CLI, "promote", "--remote", remote, "--volume", "vol1");
            assertEquals(1, behind.exitCode(), behind.output());
            assertTrue(behind.output().contains("a promotion without --force must lose nothing"), behind.output());
            rig.startWedge();
            TaplineProcess.run(CLI, "ship", "resume", "--buffer", rig.buffer().toString(), "--volume", "vol1")
                    .orFail("ship resume");
            rig.awaitSynced(Duration.ofSeconds(60));
            rig.wedge().close(); // a planned stop: the source's last word says everything arrived
            String planned = TaplineProcess.run(CLI, "promote", "--remote", remote, "--volume", "vol1").orFail("promote")
                    .output();
            assertTrue(planned.contains("its source stopped cleanly"), planned);
            String demoted = TaplineProcess.run(CLI, "demote", "--remote", remote, "--volume", "vol1")
                    .orFail("demote").output();
            assertTrue(demoted.contains("written while primary: nothing (no chunk was written); the replica is as it"
                    + " was at its promotion"), demoted);
            JsonNode replica = dataStatus(rig);
            assertEquals("secondary", replica.get("role").asText(), replica.toString());
            assertEquals("consistent", replica.get("state").asText(), replica.toString());
            String again = TaplineProcess.run(CLI, "promote", "--remote", remote, "--volume", "vol1")
                    .orFail("a plain promote again").output();
            assertTrue(again.contains("generation 3"), again);
        }
    }

    @Test
    void standbyRefusesDataUntilPromotedThenServesTheFileSystemAndTheOldPrimaryIsFenced() throws Exception {
        InetSocketAddress standby = new InetSocketAddress("127.0.0.1", Peers.freePort());
        String standbyUri = "nbd://" + ReplicationRig.hostPort(standby) + "/" + ReplicationRig.EXPORT;
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE)) {
            rig.startReplayer("--nbd", ReplicationRig.hostPort(standby));
            rig.startWedge();
            Path tree = smallTree(dir.resolve("tree"));
            try (NbdfuseDisk host = NbdfuseDisk.attach(dir, "a", rig.uri())) {
                Peers.ok(PEER, "mkfs.ext4", "-q", "-F", host.device());
                Path mnt = host.mount(dir.resolve("mnt-a"));
                Peers.ok(PEER, "cp", "-a", tree.toString(), mnt.resolve("tree").toString());
                host.unmount();
            }
            rig.awaitSynced(Duration.ofSeconds(120));
            String remote = ReplicationRig.hostPort(rig.linkAddress);

            // Hot standby: the size is visible, data is not.
            Peers.awaitPort(standby.getPort(), Duration.ofSeconds(30));
            JsonNode info = Json.mapper().readTree(Peers.ok(PEER, "nbdinfo", "--json", standbyUri));
            assertEquals(SIZE, info.get("exports").get(0).get("export-size").asLong(), info.toString());
            Peers.Result read = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "read 0 4k", standbyUri);
            assertTrue(read.output().contains("Operation not permitted"), "standby read refused: " + read.output());

            // The primary is up: a plain promote refuses, nothing changes.
            Peers.Result early = TaplineProcess.run(CLI, "promote", "--remote", remote, "--volume", "vol1");
            assertEquals(1, early.exitCode(), early.output());
            assertTrue(early.output().contains("live source"), early.output());

            // The primary is lost; the consistent replica is promoted and serves the file system.
            rig.wedge().kill9();
            // Killed, it said nothing as it stopped: a plain promotion cannot know that nothing is missing
            // (probe s62 AE D1, D2: a source stopped behind its replica was promoted as planned).
            Peers.Result plain = TaplineProcess.run(CLI, "promote", "--remote", remote, "--volume", "vol1");
            assertEquals(1, plain.exitCode(), plain.output());
            assertTrue(plain.output().contains("did not say, as it stopped, that everything it captured arrived"),
                    plain.output());
            String promoted = TaplineProcess.run(CLI, "promote", "--remote", remote, "--volume", "vol1", "--force",
                    "--json").orFail("promote").output();
            assertTrue(promoted.contains("generation 2"), promoted);
            assertTrue(promoted.contains("it had captured no more records"), "everything had arrived: " + promoted);
            JsonNode promotion = io.tapline.tools.cli.Json.mapper().readTree(promoted);
            assertEquals(2, promotion.get("generation").asLong(), promoted); // not in "sequence", as it was
            assertTrue(promoted.contains(" at seq " + promotion.get("sequence").asLong()), promoted);
            JsonNode replica = dataStatus(rig);
            assertEquals("primary", replica.get("role").asText(), replica.toString());
            assertTrue(replica.get("promotedConsistent").asBoolean(), "promoted consistent: " + replica);
            assertEquals(2, replica.get("generation").asLong(), replica.toString());
            byte[] marker = new byte[256 << 10];
            new Random(99).nextBytes(marker);
            try (NbdfuseDisk host = NbdfuseDisk.attach(dir, "b", standbyUri)) {
                Path mnt = host.mount(dir.resolve("mnt-b"));
                String diff = Peers.run(PEER, "diff", "-r", tree.toString(), mnt.resolve("tree").toString()).output();
                assertTrue(diff.isEmpty(), "the promoted replica holds the primary's files:\n" + diff);
                Files.write(mnt.resolve("written-on-b.bin"), marker);
                host.unmount();
            }

            // The old primary comes back: fenced, never synced, its writes never reach the promoted side.
            rig.startWedge();
            Peers.Result fenced = TaplineProcess.run(CLI, "status", "--buffer", rig.buffer().toString(),
                    "--wait-synced", "5", "--json");
            assertEquals(1, fenced.exitCode(), fenced.output());
            assertTrue(fenced.output().contains("\"fenced\""), fenced.output());

            // Demoted: what B wrote is kept aside, then the primary heals the replica by checksums.
            String demoted = TaplineProcess.run(CLI, "demote", "--remote", remote, "--volume", "vol1")
                    .orFail("demote").output();
            Path discarded = rig.replica().resolveSibling("discarded-2.img");
            assertTrue(Files.exists(discarded), demoted);
            assertEquals(SIZE, Files.size(discarded));
            assertTrue(SparseImages.containsAligned(discarded, Arrays.copyOf(marker, 1024)), "the discarded image holds B's file");
            rig.awaitSynced(Duration.ofSeconds(120));
            rig.assertReplicaMatchesPrimary();
            replica = dataStatus(rig);
            assertEquals("secondary", replica.get("role").asText(), replica.toString());
            assertEquals("consistent", replica.get("state").asText(), replica.toString());
            assertFalse(SparseImages.containsAligned(rig.replica(), Arrays.copyOf(marker, 1024)), "B's writes are gone from the replica");
            Peers.Result again = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "read 0 4k", standbyUri);
            assertTrue(again.output().contains("Operation not permitted"), "standby again: " + again.output());
            String audit = TaplineProcess.run(CLI, "audit", "list", "--data", dir.resolve("remote").toString(),
                    "--volume", "vol1").orFail("audit list").output();
            assertTrue(audit.contains("PROMOTE") && audit.contains("DEMOTE"), audit);
            TaplineProcess.run(CLI, "audit", "verify", "--data", dir.resolve("remote").toString(), "--volume", "vol1")
                    .orFail("audit verify");
            assertFalse(SparseImages.sameBytes(discarded, rig.replica()));
        }
    }

    private JsonNode dataStatus(ReplicationRig rig) throws Exception {
        String out = TaplineProcess.run(CLI, "status", "--data", dir.resolve("remote").toString(), "--json")
                .orFail("status --data").output();
        return Json.mapper().readTree(out.substring(out.indexOf('{'))).get("volumes").get(0);
    }

    /** 200 small random files in 10 directories. */
    private static Path smallTree(Path root) throws Exception {
        Random rnd = new Random(7);
        for (int d = 0; d < 10; d++) {
            Path sub = Files.createDirectories(root.resolve("d" + d));
            for (int f = 0; f < 20; f++) {
                byte[] content = new byte[rnd.nextInt(20000)];
                rnd.nextBytes(content);
                Files.write(sub.resolve("f" + f), content);
            }
        }
        return root;
    }
}
