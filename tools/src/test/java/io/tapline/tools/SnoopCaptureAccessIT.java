package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new user meets before capturing: {@code --list-interfaces} names {@code lo} as
 * {@code tcpdump -D} does (text and JSON), and live capture without CAP_NET_RAW (capsh drops it
 * from a root shell's bounding set) fails with one line saying how to grant it, no stack trace. Needs root and
 * capsh (libcap2-bin).
 */
class SnoopCaptureAccessIT {
    private static final Duration RUN = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void listInterfacesNamesLoopbackLikeTcpdump() throws Exception {
        String text = TaplineProcess.run(RUN, "snoop", "--list-interfaces").orFail("snoop --list-interfaces").output();
        String tcpdump = Peers.ok(RUN, "tcpdump", "-D");
        String loLine = text.lines().filter(l -> l.matches("\\d+\\.lo .*")).findFirst().orElse("");
        assertTrue(loLine.contains("Loopback"), text);
        assertTrue(tcpdump.lines().anyMatch(l -> l.startsWith(loLine.substring(0, loLine.indexOf(' ')) + " ")),
                "tcpdump -D numbers lo alike: " + tcpdump + "\nvs\n" + text);

        String json = TaplineProcess.run(RUN, "snoop", "-D", "--json").orFail("snoop -D --json").output();
        JsonNode list = io.tapline.tools.cli.Json.mapper().readTree(json.substring(json.indexOf('[')));
        JsonNode lo = null;
        for (JsonNode n : list) {
            if (n.get("name").asText().equals("lo")) {
                lo = n;
            }
        }
        assertTrue(lo != null && lo.get("loopback").asBoolean() && lo.get("addresses").toString().contains("127.0.0.1"),
                json);
    }

    @Test
    void liveCaptureWithoutCapNetRawIsOneLineNamingTheFix() throws Exception {
        String cmd = TaplineProcess.javaCommand().stream().map(a -> "'" + a + "'").collect(Collectors.joining(" "))
                + " snoop --interface lo --buffer '" + dir.resolve("buffer") + "'";
        Peers.Result r = Peers.run(RUN, "capsh", "--drop=cap_net_raw", "--", "-c", cmd);
        assertEquals(1, r.exitCode(), r.output());
        String out = r.output().strip();
        assertTrue(out.startsWith("tapline: capture on lo: permission denied (expected: root or CAP_NET_RAW"), out);
        assertEquals(1, out.lines().count(), out);
        assertFalse(out.contains("\tat "), out);
    }
}
