package io.tapline.tools;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.tapline.kafka.KafkaReplayer;
import io.tapline.replay.ReplayServer;
import io.tapline.replay.VolumeStatus;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus meters of a replayer, one set per volume, registered the first time a scrape sees
 * the volume. {@code tapline_replay_out_of_sync} is 1 once a GAP reached the replica. A Kafka
 * replayer ({@link #bindKafka}) has the meters that read the replica's {@link VolumeStatus}, labelled
 * {@code site} too ({@code tapline_replay_session_connected}: 1 while the volume is assigned to it);
 * the undo window, unapplied time and refused sessions are the journey replayer's.
 */
final class ReplayMetrics {
    /** The journey replayer, or null for a Kafka replayer. */
    private final ReplayServer server;
    private final Supplier<List<String>> volumes;
    private final Function<String, Optional<VolumeStatus>> status;
    private final Tags replayerTags;
    private final Set<String> known = ConcurrentHashMap.newKeySet();

    private ReplayMetrics(ReplayServer server, Supplier<List<String>> volumes,
            Function<String, Optional<VolumeStatus>> status, Tags replayerTags) {
        this.server = server;
        this.volumes = volumes;
        this.status = status;
        this.replayerTags = replayerTags;
    }

    static void bind(MetricsServer metrics, ReplayServer server) {
        ReplayMetrics m = new ReplayMetrics(server,
                () -> server.volumes().stream().map(VolumeStatus::volumeId).toList(), server::volumeStatus, Tags.empty());
        FunctionCounter.builder("tapline_replay_refused_sessions", server, ReplayServer::refusedSessions)
                .description("connections refused: a certificate's role, no certificate, a failed TLS handshake, an unauthenticated"
                        + " peer, a bad credential")
                .register(metrics.registry());
        metrics.onScrape(m::registerNewVolumes);
    }

    /** The meters of a Kafka replayer's replicas ({@code tapline replay --kafka}), labelled with its site. */
    static void bindKafka(MetricsServer metrics, KafkaReplayer replayer, String site) {
        bindKafka(metrics, site, () -> replayer.status().stream().map(KafkaReplayer.FeedStatus::volumeId).toList(),
                replayer::volumeStatus);
    }

    /** As {@link #bindKafka(MetricsServer, KafkaReplayer, String)}, from the volumes assigned and their status. */
    static void bindKafka(MetricsServer metrics, String site, Supplier<List<String>> volumes,
            Function<String, Optional<VolumeStatus>> status) {
        ReplayMetrics m = new ReplayMetrics(null, volumes, status, Tags.of("site", site));
        metrics.onScrape(m::registerNewVolumes);
    }

    private void registerNewVolumes(MeterRegistry registry) {
        for (String volume : volumes.get()) {
            if (known.add(volume)) {
                Tags tags = replayerTags.and("volume", volume);
                gauge(registry, "tapline_replay_applied_sequence", "every record up to it is applied and durable",
                        tags, volume, VolumeStatus::lastAppliedSequence);
                gauge(registry, "tapline_replay_out_of_sync", "1 while the replica is not a consistent image "
                        + "(a GAP or hole not yet healed, a resync running, paused or failed)",
                        tags, volume, s -> s.outOfSync() ? 1 : 0);
                gauge(registry, "tapline_replay_resyncing", "1 while a resync epoch is being applied", tags,
                        volume, s -> s.state().equals("resyncing") ? 1 : 0);
                gauge(registry, "tapline_replay_failed", "1 after applying failed (I/O error), until a batch applies",
                        tags, volume, s -> s.state().equals("failed") ? 1 : 0);
                gauge(registry, "tapline_replay_consistent_sequence", "newest sequence at which the replica was "
                        + "consistent (rollback --to-last-consistent)", tags, volume,
                        VolumeStatus::consistentSequence);
                gauge(registry, "tapline_replay_session_connected", "1 while a source is connected", tags,
                        volume, s -> s.sessionConnected() ? 1 : 0);
                FunctionCounter.builder("tapline_replay_applied_bytes", this,
                                m -> m.status.apply(volume).map(VolumeStatus::bytesApplied).orElse(0L))
                        .description("bytes written or zeroed on the replica since start").tags(tags)
                        .register(registry);
                if (server != null) {
                    registerJourneyOnly(registry, tags, volume);
                }
            }
        }
    }

    /**
     * The undo window's span in seconds: this clock now minus the oldest point's capture time,
     * which the source's clock stamped; NaN when that is ahead of this clock (a negative span read
     * as a window of no length, or worse, as an alert threshold never met).
     */
    static double windowSeconds(io.tapline.log.undo.UndoLog.Window w) {
        long ageMillis = StampAge.ageMillis(w.oldestTimeNanos() / 1_000_000L, System.currentTimeMillis());
        return ageMillis < 0 ? Double.NaN : ageMillis / 1e3;
    }

    /** The meters only a journey replayer has: its undo window and the batches it holds unapplied. */
    private void registerJourneyOnly(MeterRegistry registry, Tags tags, String volume) {
        Gauge.builder("tapline_replay_undo_oldest_sequence", server, s -> s.undoWindow(volume)
                        .map(w -> (double) w.oldestReachableSequence()).orElse(Double.NaN))
                .description("the oldest sequence a rollback can reach (NaN while the volume is closed)")
                .tags(tags).register(registry);
        Gauge.builder("tapline_replay_undo_window_seconds", server, s -> s.undoWindow(volume)
                        .filter(w -> !w.empty()).map(ReplayMetrics::windowSeconds).orElse(0.0))
                .description("how far back in time a rollback can go, by the source's capture times (0: only the"
                        + " current state; NaN: the oldest point was captured later than this clock reads)")
                .tags(tags).register(registry);
        Gauge.builder("tapline_replay_undo_bytes", server, s -> s.undoWindow(volume)
                        .map(w -> (double) w.bytes()).orElse(Double.NaN))
                .description("bytes the undo log's records take").tags(tags).register(registry);
        Gauge.builder("tapline_replay_undo_disk_bytes", server, s -> s.undoWindow(volume)
                        .map(w -> (double) w.diskBytes()).orElse(Double.NaN))
                .description("bytes the undo log's directory takes (with a segment kept for reuse)")
                .tags(tags).register(registry);
        Gauge.builder("tapline_replay_unapplied_seconds", server,
                        s -> s.unappliedForMillis(volume) / 1e3)
                .description("how long the oldest batch received from the source has waited unapplied (0: none"
                        + " waits); grows while the replica's disk is slow or hangs").tags(tags).register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String help, Tags tags, String volume,
            ToDoubleFunction<VolumeStatus> value) {
        Gauge.builder(name, this, m -> m.status.apply(volume).map(value::applyAsDouble).orElse(Double.NaN))
                .description(help).tags(tags).register(registry);
    }
}
