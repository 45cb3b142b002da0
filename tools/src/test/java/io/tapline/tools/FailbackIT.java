package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Role reversal with real hosts (qemu-io): site A is a wedge node ({@code --listen}), site B a
 * replayer node ({@code --nbd}). B is promoted while A's last records never arrived; A comes
 * back with the same command, is fenced, keeps what never shipped as {@code discarded-1.img},
 * rejoins as B's secondary and receives only the chunks that differ. A split brain (both sides
 * written while apart) is detected, refused and resolved without losing either side's writes.
 */
class FailbackIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);
    private static final long SIZE = 64L << 20;

    @TempDir
    Path dir;

    /** Both sites on loopback ports, every file under {@code dir}. */
    private final class Sites implements AutoCloseable {
        final InetSocketAddress aNbd = local();
        final InetSocketAddress aLink = local();
        final InetSocketAddress aMetrics = local();
        final InetSocketAddress bNbd = local();
        final InetSocketAddress bLink = local();
        TaplineProcess a;
        TaplineProcess b;
        int aStarts;

        Sites() throws Exception {
        }

        int bStarts;

        /** With {@code --forward} to it when set: B is the middle of a cascade A -> B -> C. */
        InetSocketAddress bForward;

        void startB() throws Exception {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("replay", "--listen", hp(bLink),
                    "--data", bData().toString(), "--nbd", hp(bNbd)));
            if (bForward != null) {
                args.addAll(java.util.List.of("--forward", hp(bForward)));
            }
            b = TaplineProcess.startWithJvmOptions(dir.resolve("b-" + (++bStarts) + ".log"), TaplineProcess.BUSY_SCAN,
                    args.toArray(String[]::new)).awaitListening(bLink, ReplicationRig.START);
        }

        void startA() throws Exception {
            a = TaplineProcess.startWithJvmOptions(dir.resolve("a-" + (++aStarts) + ".log"), TaplineProcess.BUSY_SCAN,
                    "wedge", "--nbd", hp(aNbd), "--export", "vol1", "--volume", aImage().toString(), "--size",
                    Long.toString(SIZE), "--buffer", aBuffer().toString(), "--remote", hp(bLink), "--listen",
                    hp(aLink), "--metrics", hp(aMetrics)).awaitListening(aNbd, ReplicationRig.START);
        }

        Path aImage() {
            return dir.resolve("a.img");
        }

        Path aBuffer() {
            return dir.resolve("a-buffer");
        }

        Path bData() {
            return dir.resolve("b-data");
        }

        Path bReplica() {
            return bData().resolve("vol1").resolve("replica.img");
        }

        String aUri() {
            return "nbd://" + hp(aNbd) + "/vol1";
        }

        String bUri() {
            return "nbd://" + hp(bNbd) + "/vol1";
        }

        void write(String uri, int pattern, long offset, String length) throws Exception {
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P " + pattern + " " + offset + " " + length, uri);
        }

        /** B's promoted volume ships to A: waits until A has all of it. */
        void awaitBSyncedToA() throws Exception {
            Peers.Result r = TaplineProcess.run(Duration.ofSeconds(150), "status", "--buffer",
                    bData().resolve("vol1").resolve("primary").toString(), "--wait-synced", "120");
            if (r.exitCode() != 0) {
                throw new AssertionError("B not synced to A: " + r.output() + "\n--- A:\n" + a.logText() + "\n--- B:\n"
                        + b.logText());
            }
        }

        @Override
        public void close() throws Exception {
            if (a != null) {
                a.close();
            }
            if (b != null) {
                b.close();
            }
        }
    }

    /**
     * The node's mark on its image ({@code user.tapline.node}) moves the image's ctime; written after
     * the primary's watch took its baseline, every first start of a node (and a plain wedge restarted
     * as a node) warned of another program's writes and compared the whole volume (probe U D1). The
     * watch compares once a second while the host is idle: 3 s of an idle host give it two looks.
     */
    @Test
    void aNodesFirstStartIsNotTakenForAnotherProgramsWrite() throws Exception {
        try (Sites s = new Sites()) {
            s.startB();
            s.startA();
            // The host stays idle for 3 s: only the watch's own looks.
            assertTrue(!s.a.logsWithin("changed by another program", Duration.ofSeconds(3)), s.a.logText());
            JsonNode status = Json.mapper().readTree(TaplineProcess.run(CLI, "status", "--buffer",
                    s.aBuffer().toString(), "--json").output());
            List<JsonNode> causes = status.findValues("wholeVolumeCause");
            assertTrue(!causes.isEmpty() && causes.stream().allMatch(JsonNode::isNull), "no whole-volume compare: " + status);
        }
    }

    @Test
    void promotedReplicaServesThenTheOldPrimaryRejoinsAsItsSecondaryKeepingWhatNeverShipped() throws Exception {
        try (Sites s = new Sites()) {
            s.startB();
            s.startA();
            HostWrites.random4k(s.aUri(), SIZE, 400, 11);
            awaitSynced(s.aBuffer(), s);
            // A's last writes never arrive: the link is down (B stopped), the host writes, A dies.
            s.b.close();
            s.write(s.aUri(), 0xa5, 16L << 20, "256k");
            s.a.kill9();
            s.startB();

            String promoted = TaplineProcess.run(CLI, "promote", "--remote", hp(s.bLink), "--volume", "vol1",
                    "--force", "--peer", hp(s.aLink)).orFail("promote").output();
            assertTrue(promoted.contains("generation 2"), promoted);
            assertTrue(promoted.contains("newest captured sequence is unknown"), "B restarted since: " + promoted);
            s.write(s.bUri(), 0xb7, 8L << 20, "1M"); // B serves its host

            s.startA(); // the same command: fenced, keeps its unshipped writes, rejoins
            s.awaitBSyncedToA();
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(s.aImage()), "A == B after failback");
            Path discarded = s.aBuffer().resolve("node").resolve("vol1").resolve("discarded-1.img");
            assertTrue(allBytes(discarded, 16L << 20, 256 << 10, (byte) 0xa5), "A's unshipped write kept aside");
            assertTrue(allBytes(s.aImage(), 8L << 20, 1 << 20, (byte) 0xb7), "B's write reached A");
            JsonNode a = nodeStatus(s.aBuffer().resolve("node"));
            assertEquals("secondary", a.get("role").asText(), a.toString());
            assertEquals(2, a.get("generation").asLong(), a.toString());
            assertEquals(List.of("discarded-1.img"), Json.mapper().convertValue(a.get("discardedImages"), List.class));
            Peers.Result refused = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "read 0 4k", s.aUri());
            assertTrue(refused.output().contains("Operation not permitted"), "A is a standby now: " + refused.output());
            // Only what differs crossed the link: B's 1 MiB, A's 256 KiB, chunk rounding and hashes.
            JsonNode resync = bufferStatus(s.bData().resolve("vol1").resolve("primary")).get("resync");
            long sent = resync.get("bytesSent").asLong();
            assertTrue(sent <= 2 * ((1L << 20) + (256L << 10)) + (256L << 10), "resync wire bytes " + sent + ": " + resync);
        }
    }

    @Test
    void splitBrainIsRefusedUntilResolvedAndNeitherSideLosesItsWrites() throws Exception {
        try (Sites s = new Sites(); ShapedLine bToA = new ShapedLine(s.aLink, 1L << 30)) {
            s.startB();
            s.startA();
            HostWrites.random4k(s.aUri(), SIZE, 200, 12);
            awaitSynced(s.aBuffer(), s);
            // The link is cut both ways: A's shipping paused, B's link to A through a line that is down.
            TaplineProcess.run(CLI, "ship", "pause", "--buffer", s.aBuffer().toString(), "--volume", "vol1")
                    .orFail("ship pause");
            bToA.cut(true);
            TaplineProcess.run(CLI, "promote", "--remote", hp(s.bLink), "--volume", "vol1", "--force", "--peer",
                    hp(bToA.address())).orFail("promote");
            // A's next write must carry a capture time after the promotion (both sites read one clock here).
            long promotedAt = java.time.Instant.parse(nodeStatus(s.bData()).get("roleChanged").asText()).toEpochMilli();
            Poll.until(Duration.ofSeconds(5), () -> "the clock passes the promotion",
                    () -> System.currentTimeMillis() > promotedAt);
            s.write(s.aUri(), 0xa1, 4L << 20, "128k"); // written on A after B's promotion
            s.write(s.bUri(), 0xb1, 12L << 20, "128k");
            TaplineProcess.run(CLI, "ship", "resume", "--buffer", s.aBuffer().toString(), "--volume", "vol1")
                    .orFail("ship resume"); // the link is back
            bToA.cut(false);

            JsonNode a = awaitState(s.aBuffer().resolve("node"), "split-brain");
            assertTrue(a.get("reason").asText().contains("written on both sides"), a.toString());
            Peers.Result refused = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0xcc 0 4k", s.aUri());
            assertTrue(refused.output().contains("Operation not permitted"), "A refuses its host: " + refused.output());

            // Keeping A's side needs B demoted first: while B is primary, A would only be fenced again (probe Q D5).
            Peers.Result tooEarly = TaplineProcess.run(CLI, "resolve", "--buffer", s.aBuffer().toString(), "--volume",
                    "vol1", "--keep", "local");
            assertEquals(1, tooEarly.exitCode(), tooEarly.output());
            assertTrue(tooEarly.output().contains("still refuses this node as fenced (it is primary): demote it first"),
                    tooEarly.output());
            String resolved = TaplineProcess.run(CLI, "resolve", "--buffer", s.aBuffer().toString(), "--volume", "vol1",
                    "--keep", "peer").orFail("resolve").output();
            assertTrue(resolved.contains("rejoined as secondary of generation 2"), resolved);
            s.awaitBSyncedToA();
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(s.aImage()), "A == B after resolve");
            assertTrue(allBytes(s.aImage(), 12L << 20, 128 << 10, (byte) 0xb1), "B's write reached A");
            Path discarded = s.aBuffer().resolve("node").resolve("vol1").resolve("discarded-1.img");
            assertTrue(allBytes(discarded, 4L << 20, 128 << 10, (byte) 0xa1), "A's split-brain write kept aside");
        }
    }

    /**
     * The middle of a cascade A -> B -> C switched over to primary: the host's writes on B reach C
     * (by the forward hop's checksum resync), and the hop never said synced while C lacked them.
     */
    @Test
    void aPromotedCascadeMiddleKeepsItsNextHopFollowing() throws Exception {
        InetSocketAddress cLink = local();
        Path cData = dir.resolve("c-data");
        try (Sites s = new Sites();
                TaplineProcess c = TaplineProcess.start(dir.resolve("c.log"), "replay", "--listen", hp(cLink), "--data",
                        cData.toString()).awaitListening(cLink, ReplicationRig.START)) {
            s.bForward = cLink;
            s.startB();
            s.startA();
            HostWrites.random4k(s.aUri(), SIZE, 200, 14);
            awaitSynced(s.aBuffer(), s);
            Path forward = s.bData().resolve("vol1").resolve(CascadeForwarder.FORWARD_BUFFER);
            awaitSynced(forward, s);
            Path cReplica = cData.resolve("vol1").resolve("replica.img");
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(cReplica), "C == B before");
            TaplineProcess.run(CLI, "switchover", "--volume", "vol1", "--from", hp(s.aLink), "--to", hp(s.bLink))
                    .orFail("switchover A to B");
            s.write(s.bUri(), 0xb7, 10L << 20, "1M"); // the host now writes on B
            Peers.Result r = TaplineProcess.run(Duration.ofSeconds(150), "status", "--buffer", forward.toString(),
                    "--wait-synced", "120");
            assertEquals(0, r.exitCode(), "B -> C synced again: " + r.output() + "\n--- B:\n" + s.b.logText());
            assertTrue(allBytes(cReplica, 10L << 20, 1 << 20, (byte) 0xb7), "B's host write reached C");
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(cReplica), "C == B after writes on the promoted B");
            // C follows B's generation (the hop announces the one its node follows now), so a forced
            // promotion of C starts above it: never two primaries of one generation.
            awaitField(cData, "generation", "2");
            String promoted = TaplineProcess.run(CLI, "promote", "--remote", hp(cLink), "--volume", "vol1", "--force")
                    .orFail("promote C").output();
            assertTrue(promoted.contains("generation 3"), promoted);
        }
    }

    /**
     * The old primary A still serves its host but does not ship to B (paused): B's forced
     * promotion reaches A through B's own link to it, and A's host is refused at once instead of
     * writing beside the new primary; once A ships again, B's refusal makes it rejoin.
     */
    @Test
    void aLiveOldPrimaryStopsItsHostWhenTheNewerPrimaryShipsToIt() throws Exception {
        try (Sites s = new Sites()) {
            s.startB();
            s.startA();
            HostWrites.random4k(s.aUri(), SIZE, 100, 15);
            awaitSynced(s.aBuffer(), s);
            TaplineProcess.run(CLI, "ship", "pause", "--buffer", s.aBuffer().toString(), "--volume", "vol1")
                    .orFail("ship pause on A");
            s.write(s.aUri(), 0xa6, 16L << 20, "64k"); // captured on A, never shipped
            String promoted = TaplineProcess.run(CLI, "promote", "--remote", hp(s.bLink), "--volume", "vol1",
                    "--force", "--peer", hp(s.aLink)).orFail("promote B").output();
            assertTrue(promoted.contains("generation 2"), promoted);
            JsonNode a = awaitState(s.aBuffer().resolve("node"), "superseded");
            assertTrue(a.get("reason").asText().contains("older than generation 2"), a.toString());
            Peers.Result refused = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", s.aUri());
            assertTrue(refused.output().contains("Operation not permitted"), "A's host stopped: " + refused.output());

            TaplineProcess.run(CLI, "ship", "resume", "--buffer", s.aBuffer().toString(), "--volume", "vol1")
                    .orFail("ship resume on A");
            a = awaitField(s.aBuffer().resolve("node"), "role", "secondary");
            assertEquals("secondary", a.get("role").asText(), a.toString());
            assertEquals(2, a.get("generation").asLong(), a.toString());
            s.write(s.bUri(), 0xb8, 8L << 20, "64k");
            s.awaitBSyncedToA();
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(s.aImage()), "A == B after the rejoin");
            Path discarded = s.aBuffer().resolve("node").resolve("vol1").resolve("discarded-1.img");
            assertTrue(allBytes(discarded, 16L << 20, 64 << 10, (byte) 0xa6), "A's unshipped write kept aside");
        }
    }

    private static JsonNode awaitField(Path data, String field, String value) throws Exception {
        JsonNode[] v = {nodeStatus(data)};
        Poll.until(Duration.ofSeconds(60), () -> field + " " + value + ": " + v[0],
                Poll.of(() -> (v[0] = nodeStatus(data)).get(field).asText().equals(value)));
        return v[0];
    }

    @Test
    void plannedSwitchoverAndBackLosesNothing() throws Exception {
        try (Sites s = new Sites()) {
            s.startB();
            s.startA();
            HostWrites.random4k(s.aUri(), SIZE, 300, 13);
            awaitSynced(s.aBuffer(), s);
            s.write(s.aUri(), 0xa2, 20L << 20, "64k"); // acknowledged to the host, maybe not yet shipped
            String over = TaplineProcess.run(CLI, "switchover", "--volume", "vol1", "--from", hp(s.aLink), "--to",
                    hp(s.bLink), "--json").orFail("switchover A to B").output();
            assertTrue(Json.mapper().readTree(over.substring(over.indexOf('{'))).get("ok").asBoolean(), over);
            assertTrue(allBytes(s.bReplica(), 20L << 20, 64 << 10, (byte) 0xa2), "A's last write reached B: " + over);
            Peers.Result fencedA = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", s.aUri());
            assertTrue(fencedA.output().contains("Operation not permitted"), "A is B's standby: " + fencedA.output());
            s.write(s.bUri(), 0xb2, 24L << 20, "64k");
            s.awaitBSyncedToA();
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(s.aImage()), "A == B after the switchover");

            TaplineProcess.run(CLI, "switchover", "--volume", "vol1", "--from", hp(s.bLink), "--to", hp(s.aLink))
                    .orFail("switchover B to A");
            s.write(s.aUri(), 0xa3, 28L << 20, "64k"); // A serves again (generation 3), shipping to B
            // The node's own --buffer shows the volume it serves again (its buffer is under node/ now).
            Peers.Result r = TaplineProcess.run(Duration.ofSeconds(150), "status", "--buffer", s.aBuffer().toString(),
                    "--wait-synced", "120");
            assertEquals(0, r.exitCode(), r.output() + "\n--- A:\n" + s.a.logText() + "\n--- B:\n" + s.b.logText());
            assertEquals(Peers.md5(s.aImage()), Peers.md5(s.bReplica()), "A == B after switching back");
            assertTrue(allBytes(s.bReplica(), 24L << 20, 64 << 10, (byte) 0xb2), "B's write survived both switches");
            JsonNode a = nodeStatus(s.aBuffer().resolve("node"));
            assertEquals("primary", a.get("role").asText(), a.toString());
            assertEquals(3, a.get("generation").asLong(), a.toString());
            // The operator's --buffer still reaches the volume A serves again (from its node folder now).
            TaplineProcess.run(CLI, "mark", "--buffer", s.aBuffer().toString(), "--volume", "vol1", "switched-back")
                    .orFail("mark through the node's --buffer");
            TaplineProcess.run(Duration.ofSeconds(90), "resync", "--buffer", s.aBuffer().toString(), "--volume", "vol1",
                    "--timeout", "60s").orFail("resync through the node's --buffer sees its epoch end");
            // A's meters are those of the buffer it serves from now: link up, synced (they showed the ended one's).
            Poll.until(Duration.ofSeconds(30), () -> "A's meters follow its live buffer",
                    Poll.of(() -> ReplicationRig.metric(s.aMetrics, "tapline_link_connected") == 1.0
                            && ReplicationRig.metric(s.aMetrics, "tapline_buffer_captured_sequence") > 0));

            // Then A is lost: B learned generation 3 from A's link, so its forced promotion is 4 and fences A.
            s.write(s.aUri(), 0xa4, 32L << 20, "64k");
            s.a.kill9();
            String promoted = TaplineProcess.run(CLI, "promote", "--remote", hp(s.bLink), "--volume", "vol1",
                    "--force", "--peer", hp(s.aLink)).orFail("promote B").output();
            assertTrue(promoted.contains("generation 4"), promoted);
            s.write(s.bUri(), 0xb4, 36L << 20, "64k");
            s.startA(); // a promoted replica on A this time: it rejoins the same way
            s.awaitBSyncedToA();
            assertEquals(Peers.md5(s.bReplica()), Peers.md5(s.aImage()), "A == B after the second failover");
            assertTrue(allBytes(s.aImage(), 36L << 20, 64 << 10, (byte) 0xb4), "B's write reached A");
            a = nodeStatus(s.aBuffer().resolve("node"));
            assertEquals("secondary", a.get("role").asText(), a.toString());
            assertEquals(4, a.get("generation").asLong(), a.toString());
        }
    }

    /**
     * A switchover whose drain cannot finish changes nothing: the primary serves its host again and
     * keeps every write (it went ahead after 30 s, the writes acknowledged meanwhile only in the
     * old primary's discarded image: probe Q D7). Then, shipping resumed, it hands over with them.
     */
    @Test
    void aSwitchoverWhoseDrainCannotFinishChangesNothing() throws Exception {
        try (Sites s = new Sites()) {
            s.startB();
            s.startA();
            HostWrites.random4k(s.aUri(), SIZE, 100, 17);
            awaitSynced(s.aBuffer(), s);
            TaplineProcess.run(CLI, "switchover", "--volume", "vol1", "--from", hp(s.aLink), "--to", hp(s.bLink))
                    .orFail("switchover A to B");
            String bPrimary = s.bData().resolve("vol1").resolve("primary").toString();
            TaplineProcess.run(CLI, "ship", "pause", "--buffer", bPrimary, "--volume", "vol1").orFail("ship pause on B");
            s.write(s.bUri(), 0xb5, 8L << 20, "64k"); // acknowledged to B's host, cannot reach A

            Peers.Result refused = TaplineProcess.run(Duration.ofSeconds(150), "switchover", "--volume", "vol1",
                    "--from", hp(s.bLink), "--to", hp(s.aLink));
            assertEquals(1, refused.exitCode(), refused.output());
            assertTrue(refused.output().contains("not demoted"), refused.output());
            s.write(s.bUri(), 0xb6, 12L << 20, "64k"); // B serves its host again
            assertEquals("primary", nodeStatus(s.bData()).get("role").asText());

            TaplineProcess.run(CLI, "ship", "resume", "--buffer", bPrimary, "--volume", "vol1").orFail("ship resume");
            TaplineProcess.run(Duration.ofSeconds(150), "switchover", "--volume", "vol1", "--from", hp(s.bLink),
                    "--to", hp(s.aLink)).orFail("switchover B to A once shipping resumed");
            assertTrue(allBytes(s.aImage(), 8L << 20, 64 << 10, (byte) 0xb5)
                    && allBytes(s.aImage(), 12L << 20, 64 << 10, (byte) 0xb6), "B's writes reached A");
        }
    }

    private static void awaitSynced(Path buffer, Sites s) throws Exception {
        Peers.Result r = TaplineProcess.run(Duration.ofSeconds(150), "status", "--buffer", buffer.toString(),
                "--wait-synced", "120");
        if (r.exitCode() != 0) {
            throw new AssertionError("not synced: " + r.output() + "\n--- A:\n" + s.a.logText() + "\n--- B:\n"
                    + s.b.logText());
        }
    }

    private static JsonNode nodeStatus(Path data) throws Exception {
        String out = TaplineProcess.run(CLI, "status", "--data", data.toString(), "--json").orFail("status --data")
                .output();
        return Json.mapper().readTree(out.substring(out.indexOf('{'))).get("volumes").get(0);
    }

    private static JsonNode awaitState(Path data, String state) throws Exception {
        JsonNode[] v = {nodeStatus(data)};
        Poll.until(Duration.ofSeconds(60), () -> "state " + state + ": " + v[0],
                Poll.of(() -> (v[0] = nodeStatus(data)).get("state").asText().equals(state)));
        return v[0];
    }

    private static JsonNode bufferStatus(Path buffer) throws Exception {
        String out = TaplineProcess.run(CLI, "status", "--buffer", buffer.toString(), "--json").output();
        return Json.mapper().readTree(out.substring(out.indexOf('{'))).get("volumes").get(0);
    }

    private static boolean allBytes(Path file, long offset, int length, byte value) throws Exception {
        byte[] b = new byte[length];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(offset);
            f.readFully(b);
        }
        for (byte x : b) {
            if (x != value) {
                return false;
            }
        }
        return true;
    }

    private static InetSocketAddress local() throws Exception {
        return new InetSocketAddress("127.0.0.1", Peers.freePort());
    }

    private static String hp(InetSocketAddress a) {
        return ReplicationRig.hostPort(a);
    }
}
