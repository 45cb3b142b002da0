package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A stream of state changes, in the spirit of {@code drbdsetup events2}: first one "exists"
 * event per volume with its state, then a "change" event whenever a volume's state changes
 * (buffer mode, synced and why not, capture paused, storage error, each remote's replica state
 * and connection; on a replayer: role, generation, replica state and reason), "destroy" when a
 * volume goes. Counters that move with every write are not state and make no events, nor do the
 * figures inside a reason's text ("12 records to apply", "held for 7 s"): two texts that differ
 * only in their numbers are the same condition ({@link #condition}); the event printed for a real
 * change carries the current text. Built from the same reports as {@code tapline status}, polled.
 */
@Command(name = "events", mixinStandardHelpOptions = true,
        description = "Prints each volume's state, then every change of it, as it happens (one JSON object per line with --json).")
final class EventsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--buffer", paramLabel = "DIR", description = "A source's buffer directory.")
    Path buffer;

    @Option(names = "--data", paramLabel = "DIR", description = "A replayer's data directory instead.")
    Path data;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "PT0.5S",
            description = "How often to look (e.g. 500ms, 2s, or ISO-8601 PT0.5S; default: ${DEFAULT-VALUE}).")
    Duration interval;

    @Option(names = "--for", paramLabel = "DURATION", description = "Stop after this long (default: until stopped).")
    Duration runFor;

    @Option(names = "--json", description = "One JSON object per line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if ((buffer == null) == (data == null)) {
            throw new CliFailure("--buffer or --data: " + (buffer == null ? "neither" : "both")
                    + " given (expected: exactly one)", 2);
        }
        Path dir = buffer != null ? buffer : data;
        if (!Files.isDirectory(dir)) {
            throw new CliFailure((buffer != null ? "buffer: " : "data: ") + dir + " (expected: an existing directory)");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new CliFailure("--interval: " + interval + " (expected: > 0)", 2);
        }
        PrintWriter out = spec.commandLine().getOut();
        long end = runFor == null ? Long.MAX_VALUE : System.nanoTime() + runFor.toNanos();
        Map<String, Map<String, Object>> known = new LinkedHashMap<>();
        while (true) {
            Map<String, Map<String, Object>> now = states(buffer != null
                    ? StatusCommand.sourceReport(buffer) : ReplicaStatusReport.of(data, null));
            for (Map.Entry<String, Map<String, Object>> e : now.entrySet()) {
                Map<String, Object> before = known.get(e.getKey());
                if (before == null) {
                    print(out, "exists", e.getKey(), e.getValue(), List.copyOf(e.getValue().keySet()));
                } else {
                    List<String> changed = changed(before, e.getValue());
                    if (!changed.isEmpty()) {
                        print(out, "change", e.getKey(), e.getValue(), changed);
                    }
                }
            }
            for (String gone : known.keySet()) {
                if (!now.containsKey(gone)) {
                    print(out, "destroy", gone, Map.of(), List.of());
                }
            }
            known = now;
            out.flush();
            if (System.nanoTime() >= end) {
                return 0;
            }
            Thread.sleep(interval.toMillis()); // polling another process's files: there is nothing to wait on
        }
    }

    /** The keys whose {@link #condition} differs between two states of a volume (added and removed keys too). */
    static List<String> changed(Map<String, Object> before, Map<String, Object> after) {
        List<String> changed = new ArrayList<>();
        for (String k : after.keySet()) {
            if (!before.containsKey(k) || !Objects.equals(condition(before.get(k)), condition(after.get(k)))) {
                changed.add(k);
            }
        }
        for (String k : before.keySet()) {
            if (!after.containsKey(k)) {
                changed.add(k);
            }
        }
        return changed;
    }

    /**
     * What a state's value says about the volume's condition: text with each figure (a run of
     * digits, with any decimal points and thousands separators inside it) replaced by {@code #},
     * lists element by element; other values as they are (a generation that moves is a change).
     */
    static Object condition(Object value) {
        if (value instanceof String text) {
            return FIGURES.matcher(text).replaceAll("#");
        }
        if (value instanceof List<?> list) {
            return list.stream().map(EventsCommand::condition).toList();
        }
        return value;
    }

    private static final Pattern FIGURES = Pattern.compile("\\d+(?:[.,]\\d+)*");

    private void print(PrintWriter out, String event, String volume, Map<String, Object> state, List<String> changed) {
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", Instant.now().toString());
            m.put("event", event);
            m.put("volume", volume);
            m.put("changed", changed);
            m.put("state", state);
            out.println(Json.write(m).replaceAll("\\s*\\n\\s*", " "));
        } else {
            StringBuilder b = new StringBuilder(event).append(' ').append(volume);
            for (String k : changed) {
                b.append(' ').append(k).append(':').append(state.get(k));
            }
            out.println(b);
        }
    }

    /** Each volume's state: the report's fields that change with the volume's condition, not with every write. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> states(Map<String, Object> report) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (Object o : (List<Object>) report.getOrDefault("volumes", List.of())) {
            Map<String, Object> v = (Map<String, Object>) o;
            Map<String, Object> s = new LinkedHashMap<>();
            for (String k : List.of("mode", "synced", "notSyncedBecause", "capturePaused", "storageError", "role",
                    "generation", "state", "reason")) {
                if (v.containsKey(k)) {
                    s.put(k, v.get(k));
                }
            }
            for (Object r : (List<Object>) v.getOrDefault("remotes", List.of())) {
                Map<String, Object> remote = (Map<String, Object>) r;
                String name = "remote " + remote.get("remote");
                s.put(name + " replica", remote.get("replica"));
                s.put(name + " connected", remote.get("connected"));
            }
            out.put(String.valueOf(v.get("volume")), s);
        }
        return out;
    }
}
