package io.tapline.tools;

import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Which parts of a volume are written most, from its audit log: writes (WRITE, WRITE_ZEROES,
 * DISCARD records applied) counted per LBA range of {@code bucketBytes} and per time slice (of
 * the host's write, the record's capture time), the
 * hottest ranges first. A write spanning ranges counts in each, with the bytes that fall there.
 * Identifies hot blocks without knowing the application (a database's log, a VM's metadata).
 */
final class HeatMap {
    private HeatMap() {
    }

    /** When the host wrote it: the capture time, or when it was logged if the record has none. */
    private static long when(AuditEntry e) {
        return e.captureTimeNanos() > 0 ? e.captureTimeNanos() : e.loggedNanos();
    }

    /** One range's figures. */
    private static final class Range {
        final long index;
        long writes;
        long bytes;
        final long[] perSlice;

        Range(long index, int slices) {
            this.index = index;
            this.perSlice = new long[slices];
        }
    }

    /**
     * The writes of a log between two instants (either may be null: no bound), each kept as three
     * numbers, not as its entry: a heat map of a busy volume's history fits in memory (24 bytes a
     * write, where an entry takes hundreds). Fed one entry at a time.
     */
    static final class Writes implements Consumer<AuditEntry> {
        private final Instant from;
        private final Instant to;
        private long[] when = new long[1024];
        private long[] offset = new long[1024];
        private long[] length = new long[1024];
        private int count;

        Writes(Instant from, Instant to) {
            this.from = from;
            this.to = to;
        }

        @Override
        public void accept(AuditEntry e) {
            if (e.type() != AuditType.RECORD || e.recordKind() == 0 || e.lengthBytes() <= 0) {
                return;
            }
            RecordKind kind = RecordKind.fromWireValue(e.recordKind());
            if (kind != RecordKind.WRITE && kind != RecordKind.WRITE_ZEROES && kind != RecordKind.DISCARD) {
                return;
            }
            Instant at = Instant.ofEpochSecond(0, when(e));
            if ((from != null && at.isBefore(from)) || (to != null && at.isAfter(to))) {
                return;
            }
            if (count == when.length) {
                when = Arrays.copyOf(when, count * 2);
                offset = Arrays.copyOf(offset, count * 2);
                length = Arrays.copyOf(length, count * 2);
            }
            when[count] = when(e);
            offset[count] = e.offsetBytes();
            length[count] = e.lengthBytes();
            count++;
        }
    }

    /**
     * The heat of {@code entries} between {@code from} and {@code to} (either may be null: the
     * log's first or last entry), {@code top} ranges, {@code slices} time slices.
     */
    static Map<String, Object> of(List<AuditEntry> entries, long bucketBytes, Instant from, Instant to, int top,
            int slices) {
        Writes writes = new Writes(from, to);
        entries.forEach(writes);
        return of(writes, bucketBytes, top, slices);
    }

    /** The heat of {@code writes}: {@code top} ranges of {@code bucketBytes}, {@code slices} time slices. */
    static Map<String, Object> of(Writes writes, long bucketBytes, int top, int slices) {
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (int i = 0; i < writes.count; i++) {
            first = Math.min(first, writes.when[i]);
            last = Math.max(last, writes.when[i]);
        }
        long sliceNanos = Math.max(1, (last - first) / slices + 1);
        Map<Long, Range> ranges = new HashMap<>();
        long totalBytes = 0;
        for (int i = 0; i < writes.count; i++) {
            int slice = (int) Math.min(slices - 1, (writes.when[i] - first) / sliceNanos);
            long start = writes.offset[i];
            long end = start + writes.length[i];
            for (long b = start / bucketBytes; b * bucketBytes < end; b++) {
                long lo = Math.max(start, b * bucketBytes);
                long hi = Math.min(end, (b + 1) * bucketBytes);
                Range r = ranges.computeIfAbsent(b, x -> new Range(x, slices));
                r.writes++;
                r.bytes += hi - lo;
                r.perSlice[slice]++;
            }
            totalBytes += writes.length[i];
        }
        List<Range> hottest = new ArrayList<>(ranges.values());
        hottest.sort(Comparator.comparingLong((Range r) -> r.writes).reversed()
                .thenComparingLong(r -> r.index));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Range r : hottest.subList(0, Math.min(top, hottest.size()))) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("offset", r.index * bucketBytes);
            m.put("length", bucketBytes);
            m.put("writes", r.writes);
            m.put("bytes", r.bytes);
            m.put("share", writes.count == 0 ? 0.0 : Math.round(1000.0 * r.writes / writes.count) / 1000.0);
            m.put("writesPerSlice", r.perSlice);
            rows.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bucketBytes", bucketBytes);
        out.put("from", writes.count == 0 ? null : Instant.ofEpochSecond(0, first).toString());
        out.put("to", writes.count == 0 ? null : Instant.ofEpochSecond(0, last).toString());
        out.put("slices", slices);
        out.put("sliceSeconds", sliceNanos / 1e9);
        out.put("writes", writes.count);
        out.put("bytes", totalBytes);
        out.put("rangesWritten", ranges.size());
        out.put("hottest", rows);
        return out;
    }
}
