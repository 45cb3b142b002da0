package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A source volume's own audit log as {@code tapline audit} prints it, read in the tests as
 * {@code "TYPE detail"} lines, after {@code tapline audit verify} found its chain intact.
 */
final class SourceTrail {
    private SourceTrail() {
    }

    /** As {@link #of}, each line {@code "TYPE who detail"}. */
    static List<String> withWho(Path buffer, String volume) throws Exception {
        return read(buffer, volume, true);
    }

    static List<String> of(Path buffer, String volume) throws Exception {
        return read(buffer, volume, false);
    }

    private static List<String> read(Path buffer, String volume, boolean who) throws Exception {
        Peers.Result verify = TaplineProcess.run(Duration.ofSeconds(60), "audit", "verify", "--data",
                buffer.toString(), "--volume", volume);
        assertEquals(0, verify.exitCode(), verify.output());
        String json = TaplineProcess.run(Duration.ofSeconds(60), "audit", "list", "--data", buffer.toString(),
                "--volume", volume, "--json").output();
        List<String> out = new ArrayList<>();
        for (JsonNode e : Json.mapper().readTree(json.substring(json.indexOf('[')))) {
            out.add(e.get("type").asText() + " " + (who ? e.get("who").asText() + " " : "") + e.get("detail").asText());
        }
        return out;
    }

    /** A DEGRADED entry whose detail contains {@code what}, and a HEALED one after it. */
    static void assertBegunAndEnded(List<String> trail, String what) {
        int begun = -1;
        for (int i = 0; i < trail.size(); i++) {
            String e = trail.get(i);
            if (begun < 0 && e.startsWith("DEGRADED ") && e.contains(what)) {
                begun = i;
            } else if (begun >= 0 && e.startsWith("HEALED ") && e.contains(what)) {
                return;
            }
        }
        fail((begun < 0 ? "no DEGRADED entry" : "no HEALED entry after the DEGRADED one") + " naming '" + what
                + "' in the source's audit log: " + trail);
    }

    /**
     * The trail once every condition it names as begun since the last start has ended: a condition
     * is logged as ended a few seconds after it is gone ({@link SourceAuditTrail#ENDED_AFTER_MILLIS}),
     * so this reads again for up to 20 s, then asserts.
     */
    static List<String> settled(Path buffer, String volume) throws Exception {
        Path dir = buffer.resolve(volume);
        Poll.until(Duration.ofSeconds(20), () -> "every condition ended in " + dir, Poll.of(() -> open(
                io.tapline.log.audit.AuditLog.read(dir).stream().map(e -> e.type() + " " + e.detail()).toList())
                .isEmpty()));
        List<String> trail = of(buffer, volume);
        assertNothingOpen(trail);
        return trail;
    }

    /** Every condition the log names as begun since the last start has ended. */
    static void assertNothingOpen(List<String> trail) {
        Map<String, Integer> open = open(trail);
        assertTrue(open.isEmpty(), "conditions begun and not ended: " + open.keySet() + " in " + trail);
    }

    private static Map<String, Integer> open(List<String> trail) {
        Map<String, Integer> open = new HashMap<>();
        for (String e : trail) {
            if (e.startsWith("CONFIG source started")) {
                open.clear();
            } else if (e.startsWith("DEGRADED ") && !e.contains("GAP record")) {
                open.merge(e.substring("DEGRADED ".length()), 1, Integer::sum);
            } else if (e.startsWith("HEALED ")) {
                String detail = e.substring(e.indexOf(": ") + 2); // "ended after N s: DETAIL"
                open.computeIfPresent(detail, (k, n) -> n == 1 ? null : n - 1);
            }
        }
        return open;
    }
}
