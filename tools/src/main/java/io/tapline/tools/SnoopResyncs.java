package io.tapline.tools;

import io.tapline.journey.resync.ResyncConfig;
import io.tapline.journey.resync.ResyncEngine;
import io.tapline.snoop.capture.CaptureCounters;
import io.tapline.snoop.source.NbdSourceReader;
import io.tapline.snoop.source.SnoopSourceVolume;
import io.tapline.snoop.volume.VolumeRouter;
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
 * The resync engines of a live snoop: one per volume that has a {@code --source}, started when the
 * volume starts shipping (on a thread of its own: the router calls from the capture thread).
 * Volumes without a source have none: their replicas stay out of sync after a gap, and status
 * says so.
 *
 * <p>Thread-safe.
 */
final class SnoopResyncs implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SnoopResyncs.class);

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

    private record Started(ResyncEngine engine, NbdSourceReader reader, Process bridge,
            io.tapline.log.buffer.CaptureBuffer buffer) {
    }

    SnoopResyncs(Map<String, String> sources, CaptureCounters capture, Path bufferRoot) {
        this.sources = Map.copyOf(sources);
        this.capture = capture;
        this.bufferRoot = bufferRoot;
    }

    /** Router listener: a volume started shipping: its operator controls, and its resync engine if it has a source. */
    void volumeShipping(VolumeRouter.ShippingVolume v) {
        starter.execute(() -> {
            String uri = sources.get(v.name());
            if (uri != null) {
                start(v, uri);
            }
            startControls(v);
        });
    }

    /** {@code tapline capture|ship|buffer discard|config set} (and resync/verify with a source) for the volume. */
    private void startControls(VolumeRouter.ShippingVolume v) {
        if (closed || spools.containsKey(v.name())) {
            return;
        }
        Started started = engines.get(v.name());
        ResyncEngine engine = started == null ? null : started.engine();
        Path dir = bufferRoot.resolve(v.name());
        try {
            spools.put(v.name(), RequestSpool.start(dir, engine,
                    OperatorControls.start(dir, v.buffer(), v.shippers()).withResync(engine)));
        } catch (IOException | RuntimeException e) {
            log.error("volume={} operator controls not started: {}", v.name(), e.toString());
        }
    }

    private void start(VolumeRouter.ShippingVolume v, String uri) {
        if (closed || engines.containsKey(v.name())) {
            return;
        }
        Process bridge = null;
        try {
            String nbd = uri;
            if (uri.startsWith("iscsi://")) {
                IscsiBridge started = IscsiBridge.start(uri);
                bridge = started.process();
                nbd = started.nbdUri();
            }
            NbdSourceReader reader = NbdSourceReader.open(nbd);
            if (reader.sizeBytes() != v.sizeBytes()) {
                reader.close();
                log.error("--source {}={}: size {} bytes (expected: {}, the tapped volume's); no resync for it",
                        v.name(), uri, reader.sizeBytes(), v.sizeBytes());
                return;
            }
            ResyncEngine engine = ResyncEngine.start(v.name(), v.buffer(), v.shippers(),
                    new SnoopSourceVolume(reader, v.buffer(), capture), ResyncConfig.DEFAULT);
            engines.put(v.name(), new Started(engine, reader, bridge, v.buffer()));
            log.info("resync source volume={} source={} sizeBytes={}", v.name(), uri, reader.sizeBytes());
        } catch (IOException | RuntimeException e) {
            log.error("--source {}={}: {}; no resync for this volume", v.name(), uri, e.getMessage());
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

    /** Writes {@code source-status.json} of each volume that has an engine. */
    void writeStatus(Path bufferRoot) {
        long now = System.currentTimeMillis();
        for (Map.Entry<String, Started> e : engines.entrySet()) {
            try {
                new SourceStatusFile(e.getValue().engine().status(), e.getValue().buffer().storageError(), !closed, now)
                        .write(bufferRoot.resolve(e.getKey()));
            } catch (IOException ex) {
                log.debug("source status not written volume={} error={}", e.getKey(), ex.toString());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        starter.shutdownNow();
        spools.values().forEach(RequestSpool::close);
        List<Started> all = new ArrayList<>(engines.values());
        for (Started s : all) {
            s.engine().close();
            try {
                s.reader().close();
            } catch (IOException e) {
                log.debug("source reader close failed error={}", e.toString());
            }
            if (s.bridge() != null) {
                s.bridge().destroy();
            }
        }
    }
}
