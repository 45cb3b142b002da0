package io.tapline.tools;

import io.tapline.journey.resync.ResyncConfig;
import io.tapline.journey.resync.ResyncEngine;
import io.tapline.log.BackgroundStop;
import io.tapline.snoop.capture.CaptureCounters;
import io.tapline.snoop.source.NbdSourceReader;
import io.tapline.snoop.source.SnoopSourceVolume;
import io.tapline.journey.source.SourceSide;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a live snoop adds to each volume's {@link SourceSide} once the volume starts shipping (on
 * a thread of its own: the router calls from the capture thread): its meters on {@code --http}
 * (the wedge's, {@link SourceMetrics}), its operator controls ({@code tapline capture|ship|buffer
 * discard|config set}), and, for a volume that has a {@code --source}, its resync engine (set on
 * the source side, so {@code source-status.json} and the resync meters follow). Volumes without
 * a source have no engine: their replicas stay out of sync after a gap, and status says so.
 *
 * <p>Thread-safe.
 */
final class SnoopVolumes implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SnoopVolumes.class);

    private final Map<String, String> sources;
    private final CaptureCounters capture;
    private final ExecutorService starter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "snoop-resync-start");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Started> engines = new ConcurrentHashMap<>();
    private final Map<String, RequestSpool> spools = new ConcurrentHashMap<>();
    private final Path bufferRoot;
    private volatile boolean closed;

    private final io.micrometer.core.instrument.MeterRegistry registry;

    private record Started(ResyncEngine engine, NbdSourceReader reader, Process bridge) {
    }

    /** @param registry where each volume's meters go ({@code --http}), or null */
    SnoopVolumes(Map<String, String> sources, CaptureCounters capture, Path bufferRoot,
            io.micrometer.core.instrument.MeterRegistry registry) {
        this.sources = Map.copyOf(sources);
        this.capture = capture;
        this.bufferRoot = bufferRoot;
        this.registry = registry;
    }

    /** Router listener: a volume started shipping: its meters, its resync engine if it has a source, its controls. */
    void volumeShipping(SourceSide v) {
        starter.execute(() -> {
            if (registry != null) {
                SourceMetrics.bind(registry, v);
            }
            String uri = sources.get(v.volume());
            if (uri != null) {
                start(v, uri);
            }
            startControls(v);
        });
    }

    /** {@code tapline capture|ship|buffer discard|config set} (and resync/verify with a source) for the volume. */
    private void startControls(SourceSide v) {
        if (closed || spools.containsKey(v.volume())) {
            return;
        }
        Started started = engines.get(v.volume());
        ResyncEngine engine = started == null ? null : started.engine();
        Path dir = bufferRoot.resolve(v.volume());
        try {
            spools.put(v.volume(), RequestSpool.start(dir, engine,
                    OperatorControls.start(dir, v.buffer(), v.shippers()).withResync(engine)
                            .auditedBy(SourceStatusFiles.operatorAuditOf(v))));
        } catch (IOException | RuntimeException e) {
            log.error("volume={} operator controls not started: {}", v.volume(), e.toString());
        }
    }

    private void start(SourceSide v, String uri) {
        if (closed || engines.containsKey(v.volume())) {
            return;
        }
        Process bridge = null;
        try {
            String nbd = uri;
            if (uri.startsWith("iscsi://")) {
                IscsiBridge started = IscsiBridge.start(uri, bufferRoot.resolve(v.volume()).resolve(BRIDGE_PID_FILE));
                bridge = started.process();
                nbd = started.nbdUri();
            }
            NbdSourceReader reader = NbdSourceReader.open(nbd);
            if (reader.sizeBytes() != v.shippedSizeBytes()) {
                reader.close();
                log.error("--source {}={}: size {} bytes (expected: {}, the tapped volume's); no resync for it",
                        v.volume(), uri, reader.sizeBytes(), v.shippedSizeBytes());
                return;
            }
            ResyncEngine engine = ResyncEngine.start(v.volume(), v.buffer(), v.shippers(),
                    new SnoopSourceVolume(reader, v.buffer(), capture), ResyncConfig.DEFAULT);
            engines.put(v.volume(), new Started(engine, reader, bridge));
            v.resync(engine);
            if (registry != null) {
                SourceMetrics.bindResync(registry, v.volume(), engine);
            }
            log.info("resync source volume={} source={} sizeBytes={}", v.volume(), uri, reader.sizeBytes());
        } catch (IOException | RuntimeException e) {
            log.error("--source {}={}: {}; no resync for this volume", v.volume(), uri, e.getMessage());
            if (bridge != null) {
                bridge.destroy();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (bridge != null) {
                bridge.destroy();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        starter.shutdownNow(); // a start in flight is interrupted; it must end before its engine is closed below
        if (!BackgroundStop.awaitQuiet(starter)) {
            log.warn("a resync source was still starting at close; it may outlive the snoop");
        }
        spools.values().forEach(RequestSpool::close);
        List<Map.Entry<String, Started>> all = new ArrayList<>(engines.entrySet());
        for (Map.Entry<String, Started> e : all) {
            Started s = e.getValue();
            s.engine().close();
            try {
                s.reader().close();
            } catch (IOException ex) {
                log.debug("source reader close failed error={}", ex.toString());
            }
            if (s.bridge() != null) {
                s.bridge().destroy();
                try {
                    java.nio.file.Files.deleteIfExists(bufferRoot.resolve(e.getKey()).resolve(BRIDGE_PID_FILE));
                } catch (IOException ex) {
                    log.debug("bridge pid file not removed error={}", ex.toString());
                }
            }
        }
    }

    /** Under a volume's buffer directory: the pid of the qemu-nbd bridge of its iscsi:// source. */
    static final String BRIDGE_PID_FILE = "source-bridge.pid";
}
