package io.tapline.tools;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.tapline.journey.shipper.Shipper;
import io.tapline.log.buffer.BufferMode;
import io.tapline.log.buffer.BufferStatus;
import io.tapline.log.buffer.CaptureBuffer;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus meters of one source volume: the capture buffer's figures and each link's (a journey
 * link's, and a Kafka link's {@code tapline_link_connected|sent_sequence|acked_sequence|reconnects},
 * labelled {@code remote="kafka://brokers/topic"}).
 * Degraded states are explicit: {@code tapline_buffer_mode} (0 DATA, 1 HIGH_WATER, 2 FULL),
 * {@code tapline_buffer_lost_writes}, {@code tapline_link_connected}.
 */
final class SourceMetrics {
    private SourceMetrics() {
    }

    /**
     * The meters of one source side, wedge or snoop: its buffer, its journey links, and its resync
     * engine when it has one (a snoop's engine, started later, is bound with {@link #bindResync}).
     */
    static void bind(MeterRegistry registry, io.tapline.journey.source.SourceSide side) {
        bind(registry, side.volume(), side.buffer(), side.shippers(), side.resync(), side);
    }

    /**
     * Removes every source-side meter of {@code volume} (the replayer's own {@code tapline_replay_*}
     * meters of a replica of the same name stay): a gauge is found again by its name and tags, so a
     * new source side of the volume (promoted again after a switchover) bound without this would
     * get the ended one's meters back, reading its closed buffer.
     */
    static void unbind(MeterRegistry registry, String volume) {
        for (io.micrometer.core.instrument.Meter m : List.copyOf(registry.getMeters())) {
            io.micrometer.core.instrument.Meter.Id id = m.getId();
            if (volume.equals(id.getTag("volume")) && id.getName().startsWith("tapline_")
                    && !id.getName().startsWith("tapline_replay_")) {
                registry.remove(m);
            }
        }
    }

    /** A listener that binds each volume served as primary by {@code exports} to {@code registry}, and unbinds it when it ends. */
    static ReplicaExports.PrimaryListener following(MeterRegistry registry) {
        return new ReplicaExports.PrimaryListener() {
            @Override
            public void served(String volumeId, SourceNode node) {
                unbind(registry, volumeId);
                node.bindMetrics(registry, volumeId);
            }

            @Override
            public void ended(String volumeId) {
                unbind(registry, volumeId);
            }
        };
    }

    /** The conditions that degrade {@code side}'s volume with its buffer in state {@code st}. */
    private static Map<String, SourceCondition> conditions(io.tapline.journey.source.SourceSide side, BufferStatus st) {
        var resync = side.resync();
        boolean resyncsAreTheCourse = resync == null || resync.cycleStatus() != null;
        return SourceCondition.of(st, side.linkStatuses(), resyncsAreTheCourse ? null : resync.status(),
                side.notShippingBecause(), System.currentTimeMillis());
    }

    /** 1 when {@code tapline status} would say synced: nothing degrades, every replica consistent with every record. */
    private static double synced(io.tapline.journey.source.SourceSide side, BufferStatus st) {
        // Every link, the journey shippers and the others (Kafka) alike, as status counts them: the
        // shippers alone left a Kafka-only volume at 0 for good and missed a Kafka replica behind (probe P D1).
        List<io.tapline.journey.shipper.ShipperStatus> links = side.linkStatuses();
        if (!conditions(side, st).isEmpty() || links.isEmpty() || !st.released().isEmpty()) {
            return 0;
        }
        for (io.tapline.journey.shipper.ShipperStatus s : links) {
            var r = s.replica();
            if (!s.connected() || r == null || !r.state().equals(io.tapline.journey.control.ReplicaStateReport.CONSISTENT)
                    || s.lastAckedSequence() < st.lastSequence() || r.lastApplied() < st.lastSequence()) {
                return 0;
            }
        }
        return 1;
    }

    static void bind(MeterRegistry registry, String volume, CaptureBuffer buffer, List<Shipper> shippers) {
        bind(registry, volume, buffer, shippers, null);
    }

    static void bind(MeterRegistry registry, String volume, CaptureBuffer buffer, List<Shipper> shippers,
            io.tapline.journey.resync.ResyncEngine resync) {
        bind(registry, volume, buffer, shippers, resync, null);
    }

    /** The meters of {@code side} (null: none of the volume-wide ones) with these parts of it. */
    static void bind(MeterRegistry registry, String volume, CaptureBuffer buffer, List<Shipper> shippers,
            io.tapline.journey.resync.ResyncEngine resync, io.tapline.journey.source.SourceSide side) {
        Tags tags = Tags.of("volume", volume);
        BufferStatusSampler sampler = new BufferStatusSampler(buffer, volume);
        if (side != null) {
            bufferGauge(registry, "tapline_volume_synced", "1 when every replica has every record and nothing degrades"
                    + " the volume, as tapline status says synced; 0 otherwise (a link down, a replica refused, paused,"
                    + " behind or out of sync, the buffer FULL, capture paused, a resync running, a remote released)",
                    tags, sampler, st -> synced(side, st));
            bufferGauge(registry, "tapline_volume_degraded_conditions", "conditions that degrade the volume now, as"
                    + " the source's audit log records them", tags, sampler, st -> conditions(side, st).size());
        }
        Gauge.builder("tapline_buffer_status_age_seconds", sampler, BufferStatusSampler::ageSeconds)
                .description("age of the buffer figures these metrics show: under a second while the buffer answers;"
                        + " grows while its writer is stuck (an fsync of a disk that stopped answering)")
                .tags(tags).strongReference(true).register(registry); // the gauges alone hold the sampler
        bufferGauge(registry, "tapline_buffer_captured_sequence", "newest captured sequence", tags, sampler,
                BufferStatus::lastSequence);
        bufferGauge(registry, "tapline_buffer_retained_bytes", "bytes held in segment files", tags, sampler,
                BufferStatus::retainedBytes);
        bufferGauge(registry, "tapline_buffer_high_water_bytes", "configured high-water mark", tags, sampler,
                BufferStatus::highWaterBytes);
        bufferGauge(registry, "tapline_buffer_max_bytes", "configured maximum", tags, sampler, BufferStatus::maxBytes);
        bufferGauge(registry, "tapline_buffer_mode", "0 DATA, 1 HIGH_WATER, 2 FULL", tags, sampler,
                s -> s.mode() == BufferMode.DATA ? 0 : s.mode() == BufferMode.HIGH_WATER ? 1 : 2);
        bufferGauge(registry, "tapline_buffer_lost_writes", "writes not captured while FULL, not yet covered by a GAP",
                tags, sampler, BufferStatus::lostWrites);
        bufferGauge(registry, "tapline_buffer_gap_records", "GAP records appended", tags, sampler,
                BufferStatus::gapRecords);
        bufferGauge(registry, "tapline_buffer_tracked_chunks",
                "chunks in the changed-chunk set awaiting a resync (-1: the whole volume)", tags, sampler,
                BufferStatus::trackedChunks);
        bufferGauge(registry, "tapline_buffer_write_once",
                "1 when records are not forced (a crash may lose unshipped ones; a resync then heals each replica)",
                tags, sampler, s -> BufferStatus.WRITE_ONCE.equals(s.durability()) ? 1 : 0);
        bufferGauge(registry, "tapline_buffer_crash_compare_bytes",
                "bytes a resync would compare after a crash now: the activity log's hot extents (-1: every chunk)",
                tags, sampler, BufferStatus::crashCompareBytes);
        bufferGauge(registry, "tapline_buffer_power_cut_covers_every_remote",
                "write-once: 1 when every remote reported a consistent point a power cut now would heal by the hot"
                        + " extents alone (0: some would compare every chunk; durable buffers: 1, a power cut loses no"
                        + " record)",
                tags, sampler, s -> !BufferStatus.WRITE_ONCE.equals(s.durability())
                        || (s.powerCutCoversEveryRemote() && shippers.stream().allMatch(
                                sh -> PowerCutCoverage.covers(s.powerCutCoveredFrom(), sh.replicaState()))) ? 1 : 0);
        bufferGauge(registry, "tapline_buffer_storage_error", "1 while the buffer cannot store records", tags, sampler,
                s -> s.storageError().isEmpty() ? 0 : 1);
        bufferGauge(registry, "tapline_capture_paused", "1 while an operator paused capture (chunks are tracked)", tags,
                sampler, s -> s.capturePaused().isEmpty() ? 0 : 1);
        if (resync != null) {
            bindResync(registry, volume, resync);
        }
        bufferGauge(registry, "tapline_buffer_oldest_unacked_age_seconds", "age of the oldest record a remote lacks"
                + " (NaN when it was captured later than the clock now reads: the clock stepped back)", tags, sampler,
                s -> unackedAgeSeconds(s.oldestUnackedTimeNanos(), System.currentTimeMillis()));
        for (Shipper shipper : shippers) {
            LinkMeters link = new LinkMeters(registry, tags, buffer, shipper);
            shipper.onRetarget(address -> link.rebind());
        }
        if (side != null) {
            for (io.tapline.journey.source.SourceLink other : side.links()) {
                // The Kafka link: the meters that mean the same as a journey link's, its remote
                // label the link's address (kafka://brokers/topic), so the link alerts fire on it too.
                statusMeters(registry, tags.and("remote", other.status().address()), other,
                        io.tapline.journey.source.SourceLink::status);
            }
        }
    }

    /**
     * The meters every link has, from its {@link io.tapline.journey.shipper.ShipperStatus}:
     * connected, sent and acknowledged sequences, reconnects. {@code link} must stay referenced
     * elsewhere (gauges hold it weakly).
     */
    private static <T> List<io.micrometer.core.instrument.Meter> statusMeters(MeterRegistry registry, Tags tags,
            T link, java.util.function.Function<T, io.tapline.journey.shipper.ShipperStatus> status) {
        return List.of(
                Gauge.builder("tapline_link_connected", link, l -> status.apply(l).connected() ? 1 : 0)
                        .description("1 while the link is up (a journey link, or Kafka)").tags(tags)
                        .register(registry),
                Gauge.builder("tapline_link_sent_sequence", link, l -> status.apply(l).lastSentSequence())
                        .description("highest sequence sent").tags(tags).register(registry),
                Gauge.builder("tapline_link_acked_sequence", link, l -> status.apply(l).lastAckedSequence())
                        .description("highest sequence the remote made durable (the replayer; Kafka: acknowledged"
                                + " by min.insync.replicas brokers)").tags(tags).register(registry),
                FunctionCounter.builder("tapline_link_reconnects", link, l -> status.apply(l).reconnects())
                        .description("link losses and failed connection attempts").tags(tags).register(registry));
    }

    /**
     * The meters of one journey link, labelled with its address: bound again under the new address
     * when an operator retargets the link ({@code config set --remote OLD=NEW}), so that metrics name
     * the remote as status does.
     */
    private static final class LinkMeters {
        private final MeterRegistry registry;
        private final Tags volumeTags;
        private final CaptureBuffer buffer;
        private final Shipper shipper;
        private List<io.micrometer.core.instrument.Meter> meters = List.of();

        LinkMeters(MeterRegistry registry, Tags volumeTags, CaptureBuffer buffer, Shipper shipper) {
            this.registry = registry;
            this.volumeTags = volumeTags;
            this.buffer = buffer;
            this.shipper = shipper;
            rebind();
        }

        synchronized void rebind() {
            meters.forEach(registry::remove);
            meters = bind(volumeTags.and("remote", shipper.status().address()));
        }

        private List<io.micrometer.core.instrument.Meter> bind(Tags link) {
            List<io.micrometer.core.instrument.Meter> meters = new java.util.ArrayList<>(
                    statusMeters(registry, link, shipper, Shipper::status));
            meters.add(Gauge.builder("tapline_link_window_batches", shipper, s -> s.linkShape().windowBatches())
                    .description("batches the link may have in flight (from the measured bandwidth-delay product)")
                    .tags(link).register(registry));
            meters.add(Gauge.builder("tapline_link_line_bytes_per_second", shipper,
                    s -> s.linkShape().lineBytesPerSecond())
                    .description("compressed bytes acknowledged per second, last measured; -1 before")
                    .tags(link).register(registry));
            meters.add(Gauge.builder("tapline_link_zstd_level", shipper, s -> {
                String c = s.linkShape().compression();
                return c.startsWith("zstd-") ? Integer.parseInt(c.substring(5)) : 0;
            }).description("Zstandard level of compressible batches now; 0 for LZ4").tags(link).register(registry));
            meters.add(Gauge.builder("tapline_remote_released", buffer,
                    b -> b.releasedRemotes().containsKey(shipper.cursorId()) ? 1 : 0)
                    .description("1 while the buffer keeps no records for this remote (down while it alone held"
                            + " the buffer; a full resync when it returns)").tags(link).register(registry));
            meters.add(Gauge.builder("tapline_replica_consistent", shipper, s -> s.replicaState() != null
                    && s.replicaState().state().equals(io.tapline.journey.control.ReplicaStateReport.CONSISTENT) ? 1 : 0)
                    .description("1 when the replayer last reported the replica consistent").tags(link)
                    .register(registry));
            meters.add(Gauge.builder("tapline_replica_unapplied_seconds", shipper, s -> s.replicaState() == null
                    || !s.status().connected() ? 0 : s.replicaState().unappliedForMillis() / 1e3)
                    .description("how long the oldest batch the replayer received had waited unapplied, as it last"
                            + " reported (every second); grows while the replica's disk is slow or hangs")
                    .tags(link).register(registry));
            return meters;
        }
    }

    /** The meters of a volume's resync engine (and its cycles, in cycle mode). */
    static void bindResync(MeterRegistry registry, String volume, io.tapline.journey.resync.ResyncEngine resync) {
        Tags tags = Tags.of("volume", volume);
        Gauge.builder("tapline_resync_running", resync, r -> r.status().state().equals("resyncing") ? 1 : 0)
                .description("1 while a resync epoch runs").tags(tags).register(registry);
        FunctionCounter.builder("tapline_resync_compared_bytes", resync, r -> r.status().bytesCompared())
                .description("source bytes compared by the current or last epoch").tags(tags).register(registry);
        FunctionCounter.builder("tapline_resync_sent_bytes", resync, r -> r.status().bytesSent())
                .description("bytes shipped as resync writes by the current or last epoch").tags(tags)
                .register(registry);
        FunctionCounter.builder("tapline_resync_epochs", resync, r -> r.status().epochsCompleted())
                .description("resync epochs completed").tags(tags).register(registry);
        if (resync.cycleMode()) {
            Gauge.builder("tapline_cycle_active", resync, r -> r.cycleStatus().activeCycle())
                    .description("the cycle taking the host's writes").tags(tags).register(registry);
            Gauge.builder("tapline_cycle_changed_blocks", resync, r -> r.cycleStatus().changedBlocks())
                    .description("4 KiB blocks written since the last freeze").tags(tags).register(registry);
            Gauge.builder("tapline_cycle_replica_image_age_seconds", resync, r -> {
                long age = r.cycleStatus().imageAgeMillis(System.currentTimeMillis());
                return age < 0 ? Double.NaN : age / 1e3;
            }).description("age of the image the replicas hold (the achieved RPO; NaN before the first cycle)")
                    .tags(tags).register(registry);
            Gauge.builder("tapline_cycle_last_copy_seconds", resync, r -> r.cycleStatus().lastCopyMillis() / 1e3)
                    .description("how long the last cycle took from freeze to every replica's acknowledgment")
                    .tags(tags).register(registry);
            FunctionCounter.builder("tapline_cycles_copied", resync, r -> r.cycleStatus().cyclesCopied())
                    .description("cycles every replica acknowledged since start").tags(tags).register(registry);
        }
    }

    private static void bufferGauge(MeterRegistry registry, String name, String help, Tags tags,
            BufferStatusSampler sampler, ToDoubleFunction<BufferStatus> value) {
        Gauge.builder(name, sampler, b -> {
            BufferStatus s = b.status();
            return s == null ? Double.NaN : value.applyAsDouble(s);
        }).description(help).tags(tags).strongReference(true).register(registry);
    }

    /** The age of a record captured at {@code capturedNanos} (0: none, age 0); NaN when ahead of the clock by over a second. */
    static double unackedAgeSeconds(long capturedNanos, long nowMillis) {
        long age = capturedNanos == 0 ? 0 : StampAge.ageMillis(capturedNanos / 1_000_000, nowMillis);
        return age < 0 ? Double.NaN : age / 1e3;
    }
}
