package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tapline.log.CaptureRecord;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplicationLagTest {
    /** The histogram's interpolated p99 landed above the largest lag seen (probe M, D2): never above max. */
    @Test
    void noPercentileIsAboveTheLargestLagSeen() {
        Instant now = Instant.parse("2026-12-07T04:00:00Z");
        ReplicationLag lag = new ReplicationLag(new SimpleMeterRegistry(), Clock.fixed(now, ZoneOffset.UTC));
        List<CaptureRecord> records = new ArrayList<>();
        long nowNanos = now.getEpochSecond() * 1_000_000_000L;
        long seq = 0;
        for (long ms : new long[] {40, 42, 45, 13_091}) {
            records.add(CaptureRecord.seal("vol1", ++seq, nowNanos - ms * 1_000_000L, io.tapline.log.RecordKind.WRITE,
                    0, 1, 0, io.tapline.log.Provenance.INTERNAL, new byte[1]));
        }
        lag.applied("vol1", records);
        @SuppressWarnings("unchecked")
        Map<String, Object> v = (Map<String, Object>) lag.report().get("vol1");
        assertEquals(4L, v.get("records"));
        long max = (Long) v.get("maxMs");
        assertEquals(13_091, max);
        assertTrue((Long) v.get("p99Ms") <= max, v.toString());
        assertTrue((Long) v.get("p50Ms") <= max, v.toString());
    }
}
