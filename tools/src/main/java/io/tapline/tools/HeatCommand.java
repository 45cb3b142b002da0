package io.tapline.tools;

import io.tapline.log.audit.AuditLog;
import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tapline heat}: the most written ranges of a replica's volume, from its audit log ({@link HeatMap}). */
@Command(name = "heat", mixinStandardHelpOptions = true,
        description = "Shows the hottest LBA ranges of a volume (write counts and bytes per range and time slice), from the replica's audit log.")
final class HeatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "The replayer's data directory.")
    Path data;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume.")
    String volume;

    @Option(names = "--bucket", paramLabel = "SIZE", converter = ByteSizeConverter.class, defaultValue = "1M",
            description = "Range size (default: ${DEFAULT-VALUE}).")
    long bucket;

    @Option(names = "--top", paramLabel = "N", defaultValue = "10", description = "Ranges shown (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--slices", paramLabel = "N", defaultValue = "12",
            description = "Time slices between the first and last write (default: ${DEFAULT-VALUE}).")
    int slices;

    @Option(names = "--from", paramLabel = "ISO", description = "Writes logged at or after this time.")
    Instant from;

    @Option(names = "--to", paramLabel = "ISO", description = "Writes logged at or before this time.")
    Instant to;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    /** A slice is one character of a row's bar: a terminal's width, not a count that sizes the heap. */
    static final int MAX_SLICES = 1000;

    @Override
    public Integer call() throws Exception {
        if (bucket < 512 || top < 1 || slices < 1 || slices > MAX_SLICES) {
            throw new CliFailure("--bucket/--top/--slices: " + bucket + "/" + top + "/" + slices
                    + " (expected: >= 512 bytes, >= 1, 1.." + MAX_SLICES + ")", 2);
        }
        Path dir = data.resolve(volume);
        if (io.tapline.replay.VolumeIds.problem(volume) != null || !Files.isDirectory(dir)) {
            throw new CliFailure("volume: " + volume + " (expected: a volume directory in " + data + ")");
        }
        HeatMap.Writes writes = new HeatMap.Writes(from, to);
        boolean damaged = AuditReading.of(dir, volume, "the heat counts only the N entries before the damage", writes)
                .damaged();
        Map<String, Object> heat = HeatMap.of(writes, bucket, top, slices);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(heat));
        } else {
            out.printf("%d writes, %d bytes, %d ranges of %d bytes written, %s .. %s%n", heat.get("writes"),
                    heat.get("bytes"), heat.get("rangesWritten"), bucket, heat.get("from"), heat.get("to"));
            out.printf("%14s %10s %12s %7s  per slice of %.1f s%n", "offset", "writes", "bytes", "share",
                    heat.get("sliceSeconds"));
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> rows = (List<Map<String, Object>>) heat.get("hottest");
            for (Map<String, Object> r : rows) {
                out.printf("%14d %10d %12d %6.1f%%  %s%n", r.get("offset"), r.get("writes"), r.get("bytes"),
                        100 * (Double) r.get("share"), spark((long[]) r.get("writesPerSlice")));
            }
        }
        out.flush();
        return damaged ? 1 : 0;
    }

    /** The slices as a bar per slice, for a terminal. */
    static String spark(long[] counts) {
        String bars = " ▁▂▃▄▅▆▇█";
        long max = 1;
        for (long c : counts) {
            max = Math.max(max, c);
        }
        StringBuilder b = new StringBuilder();
        for (long c : counts) {
            b.append(bars.charAt((int) (c * (bars.length() - 1) / max)));
        }
        return b.toString();
    }
}
