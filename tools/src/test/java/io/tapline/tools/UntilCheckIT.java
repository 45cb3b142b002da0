package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tapline rollback --until-check} on a scripted scenario: a "header" block at offset 0
 * must carry the same bytes as a "data" block at 1 MiB (a checksum-carrying structure in
 * miniature). Twelve good generations rewrite both (data first, then header) and flush, with
 * noise writes elsewhere; a mark follows the last good one; then six damaging generations
 * rewrite only the header. The check compares the two blocks; the search must stop at the mark
 * (the last flush/mark point before the first damaging write) and the replica must equal the
 * image at that point.
 */
class UntilCheckIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(300);
    private static final long SIZE = 16L << 20;
    private static final String CHECK = "[ \"$(dd if={image} bs=4096 count=1 2>/dev/null | md5sum)\" = "
            + "\"$(dd if={image} bs=4096 skip=256 count=1 2>/dev/null | md5sum)\" ]";

    @TempDir
    Path dir;

    private static void generation(ReplicationRig rig, int pattern, boolean damage, Random rnd) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        if (!damage) {
            cmd.addAll(List.of("-c", "write -P " + pattern + " 1M 4k"));
        }
        cmd.addAll(List.of("-c", "write -P " + pattern + " 0 4k"));
        for (int i = 0; i < 20; i++) {
            long offset = (4L << 20) + (long) rnd.nextInt((int) ((SIZE - (4L << 20)) / 4096)) * 4096;
            cmd.addAll(List.of("-c", "write -P " + (1 + rnd.nextInt(250)) + " " + offset + " 4k"));
        }
        cmd.addAll(List.of("-c", "flush", rig.uri()));
        Peers.run(PEER, cmd).orFail("qemu-io");
    }

    @Test
    void untilCheckRollsBackToTheLastGoodPointAndRefusesWhenNoneIsGood() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(dir, SIZE).start()) {
            Random rnd = new Random(7);
            for (int g = 1; g <= 12; g++) {
                generation(rig, g, false, rnd);
            }
            rig.awaitSynced(Duration.ofSeconds(60));
            String good = Peers.md5(rig.primary());
            String markJson = TaplineProcess.run(CLI, "mark", "--buffer", rig.buffer().toString(), "--volume",
                    ReplicationRig.EXPORT, "--json", "last-good").orFail("mark").output();
            long markSeq = io.tapline.tools.cli.Json.mapper().readTree(markJson.substring(markJson.indexOf('{')))
                    .get("sequence").asLong();
            for (int d = 1; d <= 6; d++) {
                generation(rig, 100 + d, true, rnd);
            }
            rig.awaitSynced(Duration.ofSeconds(60));
            String damaged = Peers.md5(rig.replica());
            assertNotEquals(good, damaged);
            String remote = ReplicationRig.hostPort(rig.linkAddress);
            String data = dir.resolve("remote").toString();

            Peers.Result none = TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1", "--data",
                    data, "--until-check", "false {image}");
            assertEquals(1, none.exitCode(), none.output());
            assertTrue(none.output().contains("tapline: no point in the rollback window of volume vol1 passes the"
                    + " check"), none.output());
            assertEquals(damaged, Peers.md5(rig.replica()), "a refused search leaves the replica alone");

            Peers.Result r = TaplineProcess.run(CLI, "rollback", "--remote", remote, "--volume", "vol1", "--data",
                    data, "--until-check", CHECK, "--check-timeout", "60", "--json");
            r.orFail("rollback --until-check");
            JsonNode result = io.tapline.tools.cli.Json.mapper().readTree(r.output().substring(
                    r.output().lastIndexOf("\n{") + 1));
            int points = result.get("points").asInt();
            assertTrue(points >= 18, "flush/mark points found: " + points + "\n" + r.output());
            assertEquals(markSeq, result.get("sequence").asLong(), r.output());
            assertTrue(result.get("rolledBack").asBoolean(), r.output());
            int bound = 2 + 2 * (32 - Integer.numberOfLeadingZeros(points));
            assertTrue(result.get("checks").asInt() <= bound, "checks " + result.get("checks") + " > 2 + 2 log2("
                    + points + ")\n" + r.output());
            assertTrue(result.get("checks").asInt() < points / 2, "not a walk: " + r.output());
            assertTrue(r.output().contains("tapline rollback: check 1 at seq "), r.output());
            assertEquals(good, Peers.md5(rig.replica()), "replica at the last good point");
            Path image = dir.resolve("at-mark.img");
            TaplineProcess.run(CLI, "image", "--data", data, "--volume", "vol1", "--seq", Long.toString(markSeq),
                    "--out", image.toString()).orFail("image");
            assertEquals(Peers.md5(image), Peers.md5(rig.replica()), "replica equals the image at the chosen point");
            assertTrue(Files.exists(dir.resolve("remote/vol1/paused")), "paused after the rollback");
        }
    }
}
