package io.tapline.tools;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.tapline.replay.ReplayServer;
import io.tapline.replay.VolumeStatus;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus meters of a replayer, one set per volume, registered the first time a scrape sees
 * the volume. {@code tapline_replay_out_of_sync} is 1 once a GAP reached the replica.
 */
final class ReplayMetrics {
    private final ReplayServer server;
    private final Set<String> known = ConcurrentHashMap.newKeySet();

    private ReplayMetrics(ReplayServer server) {
        this.server = server;
    }

    static void bind(MetricsServer metrics, ReplayServer server) {
        ReplayMetrics m = new ReplayMetrics(server);
        FunctionCounter.builder("tapline_replay_refused_sessions", server, ReplayServer::refusedSessions)
                .description("connections refused: a certificate's role, no certificate, a failed TLS handshake, an unauthenticated"
                        + " peer, a bad credential")
                .register(metrics.registry());
        metrics.onScrape(m::registerNewVolumes);
    }

    private void registerNewVolumes(MeterRegistry registry) {
        for (VolumeStatus v : server.volumes()) {
            if (known.add(v.volumeId())) {
                Tags tags = Tags.of("volume", v.volumeId());
                gauge(registry, "tapline_replay_applied_sequence", "every record up to it is applied and durable",
                        tags, v.volumeId(), VolumeStatus::lastAppliedSequence);
                gauge(registry, "tapline_replay_out_of_sync", "1 while the replica is not a consistent image "
                        + "(a GAP or hole not yet healed, a resync running, paused or failed)",
                        tags, v.volumeId(), s -> s.outOfSync() ? 1 : 0);
                gauge(registry, "tapline_replay_resyncing", "1 while a resync epoch is being applied", tags,
                        v.volumeId(), s -> s.state().equals("resyncing") ? 1 : 0);
                gauge(registry, "tapline_replay_failed", "1 after applying failed (I/O error), until a batch applies",
                        tags, v.volumeId(), s -> s.state().equals("failed") ? 1 : 0);
                gauge(registry, "tapline_replay_consistent_sequence", "newest sequence at which the replica was "
                        + "consistent (rollback --to-last-consistent)", tags, v.volumeId(),
                        VolumeStatus::consistentSequence);
                gauge(registry, "tapline_replay_session_connected", "1 while a source is connected", tags,
                        v.volumeId(), s -> s.sessionConnected() ? 1 : 0);
                Gauge.builder("tapline_replay_undo_oldest_sequence", server, s -> s.undoWindow(v.volumeId())
                                .map(w -> (double) w.oldestReachableSequence()).orElse(Double.NaN))
                        .description("the oldest sequence a rollback can reach (NaN while the volume is closed)")
                        .tags(tags).register(registry);
                Gauge.builder("tapline_replay_undo_window_seconds", server, s -> s.undoWindow(v.volumeId())
                                .filter(w -> !w.empty()).map(w -> (System.currentTimeMillis() * 1e6 - w.oldestTimeNanos())
                                        / 1e9).orElse(0.0))
                        .description("how far back in time a rollback can go (0: only the current state)")
                        .tags(tags).register(registry);
                Gauge.builder("tapline_replay_undo_bytes", server, s -> s.undoWindow(v.volumeId())
                                .map(w -> (double) w.bytes()).orElse(Double.NaN))
                        .description("bytes the undo log's records take").tags(tags).register(registry);
                Gauge.builder("tapline_replay_undo_disk_bytes", server, s -> s.undoWindow(v.volumeId())
                                .map(w -> (double) w.diskBytes()).orElse(Double.NaN))
                        .description("bytes the undo log's directory takes (with a segment kept for reuse)")
                        .tags(tags).register(registry);
                Gauge.builder("tapline_replay_unapplied_seconds", server,
                                s -> s.unappliedForMillis(v.volumeId()) / 1e3)
                        .description("how long the oldest batch received from the source has waited unapplied (0: none"
                                + " waits); grows while the replica's disk is slow or hangs").tags(tags).register(registry);
                FunctionCounter.builder("tapline_replay_applied_bytes", server,
                                s -> s.volumeStatus(v.volumeId()).map(VolumeStatus::bytesApplied).orElse(0L))
                        .description("bytes written or zeroed on the replica since start").tags(tags)
                        .register(registry);
            }
        }
    }

    private void gauge(MeterRegistry registry, String name, String help, Tags tags, String volume,
            ToDoubleFunction<VolumeStatus> value) {
        Gauge.builder(name, server, s -> s.volumeStatus(volume).map(value::applyAsDouble).orElse(Double.NaN))
                .description(help).tags(tags).register(registry);
    }
}
