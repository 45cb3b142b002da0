package io.tapline.tools;

import io.tapline.log.buffer.BufferStatus;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code tapline status}: the figures of a source's capture buffer, read from its files (the
 * source process may be running or not): captured, shipped, acknowledged (= durably applied on
 * the replayer), mode, lost writes and gaps. {@code --wait-synced} polls until every remote has
 * every captured record.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows a capture buffer's state per volume: captured / shipped / acked (applied), mode, gaps.")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** Every capture buffer volume folder has one ({@code io.tapline.log.buffer.BufferState}). */
    private static final String STATE_FILE = "buffer.state";

    @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The source's buffer directory.")
    Path buffer;

    @Option(names = "--volume", paramLabel = "ID", description = "Only this volume (default: all volumes in the buffer).")
    String volume;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Option(names = "--wait-synced", paramLabel = "SECONDS",
            description = "Wait until every remote has acknowledged every captured record; exit 1 if that takes longer.")
    Integer waitSyncedSeconds;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (!Files.isDirectory(buffer)) {
            throw new CliFailure("buffer: " + buffer + " (expected: an existing buffer directory)");
        }
        if (waitSyncedSeconds != null && waitSyncedSeconds < 0) {
            throw new CliFailure("--wait-synced: " + waitSyncedSeconds + " (expected: >= 0 seconds)", 2);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(waitSyncedSeconds == null ? 0 : waitSyncedSeconds).toNanos();
        Map<String, Object> report = snapshot();
        while (waitSyncedSeconds != null && !(Boolean) report.get("synced") && System.nanoTime() < deadline) {
            Thread.sleep(200); // polling another process's files: there is nothing to wait on
            report = snapshot();
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.write(report) : human(report));
        out.flush();
        if (waitSyncedSeconds != null && !(Boolean) report.get("synced")) {
            throw new CliFailure("not synced after " + waitSyncedSeconds + " s: " + behindSummary(report));
        }
        return 0;
    }

    private Map<String, Object> snapshot() throws IOException {
        List<Map<String, Object>> volumes = new ArrayList<>();
        boolean synced = true;
        for (Path dir : volumeDirs()) {
            BufferStatus s = CaptureBuffer.readStatus(dir);
            Map<String, Object> v = volumeReport(dir, s);
            synced &= (Boolean) v.get("synced");
            volumes.add(v);
        }
        if (volume != null && volumes.isEmpty()) {
            throw new CliFailure("volume: " + volume + " (expected: a volume in " + buffer + ")");
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("buffer", buffer.toAbsolutePath().toString());
        report.put("synced", synced);
        report.put("volumes", volumes);
        return report;
    }

    private Map<String, Object> volumeReport(Path dir, BufferStatus s) throws IOException {
        Map<String, LinkStatusFile.Link> links = new LinkedHashMap<>();
        for (LinkStatusFile.Link link : LinkStatusFile.read(dir)) {
            links.put(link.remote(), link);
        }
        long now = System.currentTimeMillis();
        List<Map<String, Object>> remotes = new ArrayList<>();
        for (Map.Entry<String, Long> e : s.acknowledged().entrySet()) {
            Map<String, Object> r = new LinkedHashMap<>();
            LinkStatusFile.Link link = links.get(e.getKey());
            boolean fresh = link != null && now - link.updatedAtMillis() < LinkStatusFile.FRESH_MILLIS;
            r.put("remote", e.getKey());
            r.put("address", link == null ? null : link.address());
            r.put("acked", e.getValue());
            r.put("applied", e.getValue());
            r.put("shipped", link == null ? null : Math.max(link.shippedSequence(), e.getValue()));
            r.put("connected", fresh && link.connected());
            r.put("sourceRunning", fresh);
            r.put("lastError", link == null || link.lastError() == null || link.lastError().isBlank() ? null : link.lastError());
            remotes.add(r);
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("volume", s.volumeId());
        v.put("mode", s.mode().name());
        v.put("captured", s.lastSequence());
        v.put("firstRetained", s.firstSequence());
        v.put("retainedBytes", s.retainedBytes());
        v.put("highWaterBytes", s.highWaterBytes());
        v.put("maxBytes", s.maxBytes());
        v.put("lostWrites", s.lostWrites());
        v.put("gapRecords", s.gapRecords());
        v.put("oldestUnackedAgeMillis", s.oldestUnackedTimeNanos() == 0 ? 0
                : Math.max(0, now - s.oldestUnackedTimeNanos() / 1_000_000));
        v.put("synced", s.synced());
        v.put("remotes", remotes);
        return v;
    }

    /** The volume folders of the buffer: those holding a {@code buffer.state} (docs/formats.md). */
    private List<Path> volumeDirs() throws IOException {
        if (volume != null) {
            Path dir = buffer.resolve(volume);
            return Files.isRegularFile(dir.resolve(STATE_FILE)) ? List.of(dir) : List.of();
        }
        List<Path> dirs;
        boolean empty;
        try (Stream<Path> entries = Files.list(buffer)) {
            List<Path> all = entries.sorted().toList();
            empty = all.isEmpty();
            dirs = all.stream().filter(d -> Files.isRegularFile(d.resolve(STATE_FILE))).toList();
        }
        if (dirs.isEmpty() && !empty) {
            throw new CliFailure("--buffer: " + buffer + " (expected: a capture buffer directory, one folder per volume"
                    + " holding " + STATE_FILE + ")");
        }
        return dirs;
    }

    @SuppressWarnings("unchecked")
    private static String human(Map<String, Object> report) {
        StringBuilder sb = new StringBuilder();
        sb.append("buffer ").append(report.get("buffer")).append(": ")
                .append((Boolean) report.get("synced") ? "synced" : "not synced").append('\n');
        for (Map<String, Object> v : (List<Map<String, Object>>) report.get("volumes")) {
            sb.append(String.format("volume %s  mode %s  captured %d  retained %d bytes (high water %d, max %d)"
                            + "  lost writes %d  gaps %d%n",
                    v.get("volume"), v.get("mode"), v.get("captured"), v.get("retainedBytes"),
                    v.get("highWaterBytes"), v.get("maxBytes"), v.get("lostWrites"), v.get("gapRecords")));
            for (Map<String, Object> r : (List<Map<String, Object>>) v.get("remotes")) {
                sb.append(String.format("  remote %-22s %-12s shipped %s  acked/applied %s%s%n",
                        r.get("address") != null ? r.get("address") : r.get("remote"),
                        (Boolean) r.get("connected") ? "connected" : "disconnected",
                        r.get("shipped") == null ? "-" : r.get("shipped"), r.get("acked"),
                        r.get("lastError") == null ? "" : "  last error: " + r.get("lastError")));
            }
        }
        return sb.toString().stripTrailing();
    }

    @SuppressWarnings("unchecked")
    private static String behindSummary(Map<String, Object> report) {
        List<String> parts = new ArrayList<>();
        for (Map<String, Object> v : (List<Map<String, Object>>) report.get("volumes")) {
            if (!(Boolean) v.get("synced")) {
                parts.add("volume " + v.get("volume") + " captured " + v.get("captured") + " mode " + v.get("mode"));
            }
        }
        return String.join("; ", parts);
    }
}
