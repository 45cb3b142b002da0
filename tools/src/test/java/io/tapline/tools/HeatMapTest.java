package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Counting writes per range and time slice from audit entries. */
class HeatMapTest {
    private static final long MIB = 1 << 20;

    private static AuditEntry write(long index, long nanos, RecordKind kind, long offset, long length) {
        return new AuditEntry(index, nanos, AuditType.RECORD, index, nanos, offset, length, kind.wireValue(), 0,
                new byte[32], "src", "", new byte[32]);
    }

    @Test
    @SuppressWarnings("unchecked")
    void theHottestRangeComesFirstAndASpanningWriteCountsInEachRange() {
        List<AuditEntry> log = new ArrayList<>();
        long t = 1_000_000_000_000L;
        for (int i = 0; i < 9; i++) {
            log.add(write(i + 1, t + i * 1_000_000_000L, RecordKind.WRITE, 5 * MIB + 4096, 4096)); // hot: range 5
        }
        log.add(write(10, t + 9_000_000_000L, RecordKind.WRITE, 2 * MIB - 2048, 4096)); // spans ranges 1 and 2
        log.add(write(11, t + 9_500_000_000L, RecordKind.FLUSH, 0, 0)); // not a write
        log.add(new AuditEntry(12, t, AuditType.ROLLBACK, 0, 0, 0, 0, 0, 0, new byte[32], "x", "", new byte[32]));
        Map<String, Object> heat = HeatMap.of(log, MIB, null, null, 10, 2);
        assertEquals(10, heat.get("writes"));
        assertEquals(10L * 4096, heat.get("bytes"));
        assertEquals(3, heat.get("rangesWritten"));
        List<Map<String, Object>> rows = (List<Map<String, Object>>) heat.get("hottest");
        assertEquals(5 * MIB, rows.get(0).get("offset"));
        assertEquals(9L, rows.get(0).get("writes"));
        assertEquals(9L * 4096, rows.get(0).get("bytes"));
        assertArrayEquals(new long[] {5, 4}, (long[]) rows.get(0).get("writesPerSlice"));
        assertEquals(MIB, rows.get(1).get("offset"));
        assertEquals(2048L, rows.get(1).get("bytes"));
        assertEquals(2 * MIB, rows.get(2).get("offset"));
        assertEquals(2048L, rows.get(2).get("bytes"));
        assertArrayEquals(new long[] {0, 1}, (long[]) rows.get(2).get("writesPerSlice"));
    }
}
