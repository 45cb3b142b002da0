package io.tapline.tools;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.tapline.log.CaptureRecord;
import io.tapline.replay.ApplyObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The replica's lag, record by record: from the record's capture time on the source to the
 * moment it is durable on the replica (the observer is told before the source's ACK). That is the
 * replication point objective a site actually gets (issue "disk speed", P7).
 *
 * <p>Exported as the Prometheus histogram {@code tapline_replay_lag_seconds{volume}} (buckets from
 * 1 ms to 10 min, with p50/p99 over a two-minute decaying window), and as a status-page section.
 * The capture time is the source's clock: between two machines the figure includes their clock
 * difference (keep them on NTP); a negative lag (the source's clock ahead) counts as zero.
 *
 * <p>Thread-safety: told on each volume's apply thread; read from scrapes and the status page.
 */
final class ReplicationLag implements ApplyObserver {
    private final MeterRegistry registry;
    private final Clock clock;
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    ReplicationLag(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
    }

    @Override
    public void applied(String volumeId, List<CaptureRecord> records) {
        Instant now = clock.instant();
        long nowNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        Timer timer = timers.computeIfAbsent(volumeId, this::timer);
        for (CaptureRecord r : records) {
            timer.record(Math.max(0, nowNanos - r.captureTimeNanos()), TimeUnit.NANOSECONDS);
        }
    }

    private Timer timer(String volumeId) {
        return Timer.builder("tapline_replay_lag")
                .description("capture on the source to durable on the replica, per record (includes the two"
                        + " machines' clock difference)")
                .tags(Tags.of("volume", volumeId))
                .publishPercentileHistogram()
                .publishPercentiles(0.5, 0.99)
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .distributionStatisticExpiry(Duration.ofMinutes(2))
                .register(registry);
    }

    /** Per volume: records seen, p50/p99 (last two minutes) and max, in milliseconds; for the status page. */
    Map<String, Object> report() {
        Map<String, Object> volumes = new TreeMap<>();
        timers.forEach((volume, timer) -> {
            HistogramSnapshot s = timer.takeSnapshot();
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("records", s.count());
            long max = Math.round(s.max(TimeUnit.MILLISECONDS));
            for (ValueAtPercentile p : s.percentileValues()) {
                // The percentiles are interpolated within histogram buckets and can land above the largest
                // value seen (p99 13,422 ms with a max of 13,091): no percentile is above the max.
                long ms = Math.min(max, Math.round(p.value(TimeUnit.MILLISECONDS)));
                v.put(p.percentile() == 0.5 ? "p50Ms" : "p99Ms", ms);
            }
            v.put("maxMs", max);
            volumes.put(volume, v);
        });
        return volumes;
    }

    /** Both observers, in order (a cascade's forwarder and this). */
    static ApplyObserver both(ApplyObserver first, ApplyObserver second) {
        if (first == ApplyObserver.NONE) {
            return second;
        }
        if (second == ApplyObserver.NONE) {
            return first;
        }
        return (volumeId, records) -> {
            first.applied(volumeId, records);
            second.applied(volumeId, records);
        };
    }
}
