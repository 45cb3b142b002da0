package io.tapline.tools;

import io.tapline.log.audit.AuditLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * The status page's "hot ranges": each replica's five most written 1 MiB ranges ({@link HeatMap}),
 * recomputed only when its audit log grew and at most every few seconds; a log over 64 MiB is
 * left to {@code tapline heat} (reading it every few seconds would cost more than the page is worth).
 */
final class HeatSection implements Callable<Map<String, Object>> {
    private static final long MAX_LOG_BYTES = 64L << 20;
    private static final long REFRESH_NANOS = 5_000_000_000L;

    private final Path data;
    private final Map<String, Object> cached = new LinkedHashMap<>();
    private final Map<String, Long> cachedSize = new LinkedHashMap<>();
    private long lastNanos;

    HeatSection(Path data) {
        this.data = data;
    }

    @Override
    public synchronized Map<String, Object> call() throws IOException {
        if (lastNanos != 0 && System.nanoTime() - lastNanos < REFRESH_NANOS) {
            return Map.copyOf(cached);
        }
        lastNanos = System.nanoTime();
        List<Path> volumes;
        try (Stream<Path> s = Files.list(data)) {
            volumes = s.filter(p -> Files.isDirectory(p.resolve(AuditLog.DIR))).sorted().toList();
        }
        for (Path dir : volumes) {
            String volume = dir.getFileName().toString();
            Path log = dir.resolve(AuditLog.DIR).resolve(AuditLog.LOG);
            long size = Files.exists(log) ? Files.size(log) : 0;
            if (Long.valueOf(size).equals(cachedSize.get(volume))) {
                continue;
            }
            cachedSize.put(volume, size);
            cached.put(volume, size > MAX_LOG_BYTES
                    ? Map.of("note", "audit log of " + size + " bytes: run tapline heat --data " + data + " --volume " + volume)
                    : heat(dir));
        }
        return Map.copyOf(cached);
    }

    /** The hottest 1 MiB ranges of {@code dir}'s audit log, read one entry at a time. */
    private static Map<String, Object> heat(Path dir) throws IOException {
        HeatMap.Writes writes = new HeatMap.Writes(null, null);
        AuditLog.forEach(dir, writes);
        return HeatMap.of(writes, 1 << 20, 5, 12);
    }
}
