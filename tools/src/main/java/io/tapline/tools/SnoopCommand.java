package io.tapline.tools;

import io.tapline.snoop.SnoopConfig;
import io.tapline.snoop.SnoopPipeline;
import io.tapline.snoop.capture.BpfFrameFilter;
import io.tapline.snoop.capture.EvidenceRing;
import io.tapline.snoop.capture.FrameQueue;
import io.tapline.snoop.capture.PcapCapture;
import io.tapline.snoop.volume.VolumeNames;
import io.tapline.snoop.volume.VolumeRouter;
import io.tapline.snoop.volume.VolumeStats;
import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.SecondsConverter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tapline snoop}: passive capture of iSCSI and NBD writes, live from an interface or
 * imported from a pcap/pcapng file, into the capture buffer and on to each --remote replayer and,
 * with --kafka, to each volume's Kafka topic ({@link KafkaSourceLinks}).
 */
@Command(name = "snoop", mixinStandardHelpOptions = true,
        description = "Listens to iSCSI and NBD traffic (live or from a pcap file) and captures every write the "
                + "target completed into the capture buffer, shipped to each --remote replayer and, with --kafka, to Kafka.")
final class SnoopCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(SnoopCommand.class);

    static final class Source {
        @Option(names = "--interface", paramLabel = "IF", description = "Capture live on this interface (root or CAP_NET_RAW).")
        String iface;

        @Option(names = "--pcap", paramLabel = "FILE", description = "Import this pcap or pcapng file; with --remote"
                + " or --kafka, ship it and wait until every remote (and Kafka) acknowledged every record (see"
                + " --ship-timeout).")
        Path pcap;

        @Option(names = {"--list-interfaces", "-D"}, description = "List the interfaces live capture can use (as tcpdump -D)"
                + " and exit; with --json as JSON.")
        boolean listInterfaces;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--filter", paramLabel = "BPF", description = "BPF filter (pcap-filter(7) syntax, e.g. 'tcp port 3260'):"
            + " in the kernel for live capture; applied to each frame of a --pcap file, as tcpdump -r FILE BPF would.")
    String filter;

    @Option(names = "--snaplen", paramLabel = "N", description = "Live capture: keep at most N bytes of each frame, 1 to "
            + PcapCapture.MAX_SNAPLEN_BYTES + " (default: " + PcapCapture.MAX_SNAPLEN_BYTES + "). A frame cut short"
            + " loses write data: each one becomes a GAP.")
    Integer snaplen;

    @Option(names = "--ship-timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, description = "Import with --remote or --kafka: how long to"
            + " wait for every remote (and Kafka) to acknowledge every record before exiting 1 (default: " + DEFAULT_SHIP_TIMEOUT_SECONDS + ").")
    Integer shipTimeoutSeconds;

    @Mixin
    WritePcapOptions writePcap;

    static final int DEFAULT_SHIP_TIMEOUT_SECONDS = 1800;

    @Mixin
    SourceOptions sourceOptions;

    @Option(names = "--buffer", paramLabel = "DIR", description = "Capture buffer directory (one sub-directory per volume;"
            + " required except with --list-interfaces).")
    Path buffer;

    @Option(names = "--block-size", paramLabel = "N", defaultValue = "512",
            description = "iSCSI logical block size in bytes until a READ CAPACITY answer is seen (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--blank-targets", description = "The targets' disks were empty (never written) when this tap"
            + " first saw them: a volume new to the buffer starts in step. Without it such a volume starts with a"
            + " whole-volume GAP (what its disk held before is unknown) until a resync from --source heals it.")
    boolean blankTargets;

    @Option(names = "--volume-size", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Volume size for the replayer when the wire never shows it (READ CAPACITY / NBD handshake).")
    Long volumeSize;

    @Option(names = "--volume-map", paramLabel = "PATTERN=NAME",
            description = "Name the volume whose key (iscsi:IQN/LUN or nbd:HOST:PORT/EXPORT) matches the glob PATTERN (repeatable).")
    List<String> volumeMap = new ArrayList<>();

    @Option(names = "--iscsi-port", paramLabel = "PORT", split = ",", defaultValue = "3260",
            description = "Server ports taken as iSCSI for connections joined mid-stream (default: ${DEFAULT-VALUE}).")
    List<Integer> iscsiPorts;

    @Option(names = "--nbd-port", paramLabel = "PORT", split = ",", defaultValue = "10809",
            description = "Server ports taken as NBD for connections joined mid-stream (default: ${DEFAULT-VALUE}).")
    List<Integer> nbdPorts;

    @Option(names = "--decode-queue", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Live capture: captured frames waiting for the decode thread, at most SIZE (default: 512M"
                    + " or a quarter of the JVM heap if less; 16M to a quarter of the heap, allocated at start). The capture thread never waits for decoding or the"
                    + " buffer: a frame that does not fit is a drop (a whole-volume GAP).")
    Long decodeQueue;

    @Option(names = "--capture-buffer", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Kernel capture buffer for live capture (default: 256M: it must cover the JVM's"
                    + " collection pauses, 10-30 ms, at line rate; loopback fills it twice per packet).")
    Long captureBuffer;

    private static final long DEFAULT_CAPTURE_BUFFER_BYTES = 256L << 20;

    @Option(names = "--source", paramLabel = "VOLUME=URI",
            description = "A read-only path to the tapped volume VOLUME (repeatable; live capture only), so that a"
                    + " replica that missed writes (drops, gaps) is healed by a checksum resync: nbd://HOST:PORT/EXPORT,"
                    + " or iscsi://HOST:PORT/IQN/LUN (read through a qemu-nbd --read-only bridge it starts).")
    java.util.Map<String, String> sources = new java.util.LinkedHashMap<>();

    @Option(names = {"--http", "--metrics"}, paramLabel = "HOST:PORT",
            description = "Live capture: serve a status page at http://HOST:PORT/, its JSON at /status.json and"
                    + " Prometheus metrics at /metrics: capture packets and drops, and each volume's buffer and link"
                    + " meters (the wedge's).")
    java.net.InetSocketAddress http;

    @Option(names = "--json", description = "Print the import summary (or --list-interfaces) as JSON.")
    boolean json;

    @Option(names = "--kafka", paramLabel = "BROKERS",
            description = "Also ship the command log to Apache Kafka (host:port,...): one topic per volume, written"
                    + " from the capture buffer, whose cursor advances only when Kafka acknowledged; with --pcap,"
                    + " wait until Kafka acknowledged every record (see --ship-timeout).")
    String kafka;

    @Option(names = "--kafka-topic-prefix", paramLabel = "PREFIX", defaultValue = "tapline.",
            description = "With --kafka: a volume's topic is PREFIX + volume name (default: ${DEFAULT-VALUE}).")
    String kafkaTopicPrefix;


    @Override
    public Integer call() throws Exception {
        if (source.listInterfaces) {
            return CaptureInterfaces.print(json);
        }
        checkOptions();
        io.tapline.kafka.KafkaLinkConfig kafkaLink = kafkaLink();
        if (blockSize < 512 || Integer.bitCount(blockSize) != 1) {
            throw new CliFailure("--block-size: " + blockSize + " (expected: a power of two >= 512)", 2);
        }
        VolumeNames names;
        try {
            names = new VolumeNames(volumeMap);
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), 2);
        }
        SnoopConfig config = new SnoopConfig(java.util.Set.copyOf(iscsiPorts), java.util.Set.copyOf(nbdPorts), blockSize,
                SnoopConfig.DEFAULT.maxPendingBytes());
        Files.createDirectories(buffer);
        VolumeRouter.Settings settings = new VolumeRouter.Settings(buffer, sourceOptions.bufferConfig(),
                sourceOptions.remotes, sourceOptions.sourceId(),
                volumeSize == null ? -1 : volumeSize, names, link -> link.withTls(sourceOptions.tls.config()));
        VolumeRouter router = new VolumeRouter(settings);
        router.assumeBlankTargets(blankTargets);
        router.live(source.pcap == null);
        if (kafkaLink != null) {
            router.alsoShipOver(new KafkaSourceLinks(kafkaLink, settings.sourceId()));
        }
        // Each volume's source side makes its records durable (and so shippable) within SYNC_MILLIS
        // even when traffic stops, and publishes link-status.json for `tapline status` in another
        // process; a live snoop's links are emptied when it stops, an import's marked stopped.
        SourceStatusFiles.Stopped stopped = source.pcap != null ? SourceStatusFiles.Stopped.LINKS_MARKED_STOPPED
                : SourceStatusFiles.Stopped.LINKS_EMPTIED;
        router.onOpen(side -> {
            side.syncEvery(java.time.Duration.ofMillis(SYNC_MILLIS));
            side.publishStatus(new SourceStatusFiles(stopped));
        });
        return source.pcap != null ? importFile(router, config) : live(router, config);
    }

    /** The Kafka link of {@code --kafka}, or null; refused with a resync source (resync is journey-only). */
    private io.tapline.kafka.KafkaLinkConfig kafkaLink() {
        if (kafka == null) {
            return null;
        }
        if (!sources.isEmpty()) {
            throw new CliFailure("--kafka: with --source (expected: --source with --remote only; a resync does not"
                    + " travel over Kafka yet, a topic would keep the hole)", 2);
        }
        try {
            return io.tapline.kafka.KafkaLinkConfig.of(kafka).withTopicPrefix(kafkaTopicPrefix);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--kafka/--kafka-topic-prefix: " + e.getMessage(), 2);
        }
    }

    /** Whether an import has anything to wait for: a remote or Kafka. */
    private boolean ships() {
        return !sourceOptions.remotes.isEmpty() || kafka != null;
    }

    /** The one-line refusals of options that do not fit the chosen source (exit 2). */
    private void checkOptions() {
        if (buffer == null) {
            throw new CliFailure("--buffer: missing (expected: the capture buffer directory)", 2);
        }
        boolean file = source.pcap != null;
        if (file && snaplen != null) {
            throw new CliFailure("--snaplen: only with --interface (a capture file keeps the snap length it was written with)", 2);
        }
        long heapQuarter = heapQuarter();
        if (decodeQueue != null && (file || decodeQueue < FrameQueue.MIN_CAPACITY_BYTES || decodeQueue > heapQuarter)) {
            if (file) {
                throw new CliFailure("--decode-queue: only with --interface (a capture file is decoded as it is read)", 2);
            }
            throw new CliFailure("--decode-queue: " + decodeQueue + " bytes (expected: 16M to " + heapQuarter
                    + ", a quarter of the JVM heap; a larger heap: TAPLINE_JAVA_OPTS=-Xmx...)", 2);
        }
        if (snaplen != null && (snaplen < 1 || snaplen > PcapCapture.MAX_SNAPLEN_BYTES)) {
            throw new CliFailure("--snaplen: " + snaplen + " (expected: 1 to " + PcapCapture.MAX_SNAPLEN_BYTES + ")", 2);
        }
        writePcap.check(file);
        if (shipTimeoutSeconds != null && (!file || !ships())) {
            throw new CliFailure("--ship-timeout: only with --pcap and --remote or --kafka (a live snoop ships until"
                    + " stopped)", 2);
        }
        if (shipTimeoutSeconds != null && shipTimeoutSeconds < 1) {
            throw new CliFailure("--ship-timeout: " + shipTimeoutSeconds + " (expected: at least 1 second)", 2);
        }
        for (List<Integer> ports : List.of(iscsiPorts, nbdPorts)) {
            for (int port : ports) {
                if (port < 1 || port > 65535) {
                    throw new CliFailure((ports == iscsiPorts ? "--iscsi-port: " : "--nbd-port: ") + port
                            + " (expected: 1 to 65535)", 2);
                }
            }
        }
        if (file && captureBuffer != null) {
            throw new CliFailure("--capture-buffer: only with --interface (a capture file is read, not captured)", 2);
        }
        if (file && http != null) {
            throw new CliFailure("--http: only with --interface (an import prints its progress and summary instead)", 2);
        }
        if (file && !sources.isEmpty()) {
            throw new CliFailure("--source: only with --interface (an import cannot resync: the volume may have"
                    + " changed since the capture was taken)", 2);
        }
        if (filter != null && filter.isBlank()) {
            throw new CliFailure("--filter: '" + filter + "' (expected: a BPF expression, e.g. 'tcp port 3260')", 2);
        }
    }

    private int importFile(VolumeRouter router, SnoopConfig config) throws IOException, InterruptedException {
        BpfFrameFilter frameFilter;
        try {
            frameFilter = filter == null ? null : BpfFrameFilter.compile(filter);
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), 2);
        }
        long fileBytes = Files.isRegularFile(source.pcap) ? Files.size(source.pcap) : 0;
        // Offline, the file is complete already: durability at the end of the import is what counts.
        // No fsync per FLUSH/FUA; each volume's background sync every SYNC_MILLIS overlaps the disk
        // writes with the decoding (and ships records early), and the final syncAll below makes
        // everything durable.
        router.syncOnFlush(false);
        // Records stamped with their packets' times: the same file imported twice is the same history.
        router.stampWith(new io.tapline.snoop.capture.PacketClock());
        router.shipAfterDecode();
        long started = System.nanoTime();
        Map<String, Object> summary = new LinkedHashMap<>();
        try (PcapCapture capture = PcapCapture.openFile(source.pcap, frameFilter)) {
            int[] lastPercent = {-1};
            SnoopPipeline pipeline = new SnoopPipeline(router, config);
            capture.run(pipeline, router, read -> {
                int percent = fileBytes == 0 ? 100 : (int) Math.min(100, read * 100 / fileBytes);
                if (percent != lastPercent[0]) {
                    lastPercent[0] = percent;
                    System.err.print("\rtapline snoop: " + source.pcap.getFileName() + " " + percent + " %");
                }
            });
            System.err.println();
            summary.put("file", source.pcap.toString());
            summary.put("fileBytes", fileBytes);
            summary.put("packets", capture.counters().packets());
            summary.put("capturedBytes", capture.counters().bytes());
            summary.put("truncatedPackets", capture.counters().truncatedPackets());
            if (filter != null) {
                summary.put("filter", filter);
                summary.put("filteredOutPackets", capture.counters().filteredOutPackets());
            }
            summary.put("fileError", capture.counters().fileError());
            summary.put("ignoredConnections", pipeline.ignoredConnections());
        } catch (IllegalArgumentException e) {
            // a filter that compiles for Ethernet but not for a link type met later in the file
            if (e.getMessage() != null && e.getMessage().startsWith("--filter")) {
                throw new CliFailure(e.getMessage(), 2);
            }
            throw e;
        } finally {
            router.syncAll();
            router.releaseShipping();
            summary.put("seconds", (System.nanoTime() - started) / 1e9);
            summary.put("volumes", volumes(router));
            summary.put("unshippedVolumes", router.unshippedVolumes());
        }
        try {
            if (ships()) {
                int timeout = shipTimeoutSeconds == null ? DEFAULT_SHIP_TIMEOUT_SECONDS : shipTimeoutSeconds;
                long shipStarted = System.nanoTime();
                try {
                    summary.put("remotes", new ImportShipping(router, java.time.Duration.ofSeconds(timeout), System.err)
                            .await());
                } catch (CliFailure f) {
                    // The import itself stands (the records are in the buffer): the summary says so, then the failure.
                    summary.put("shipError", f.getMessage());
                    print(summary);
                    throw f;
                }
                summary.put("shipSeconds", (System.nanoTime() - shipStarted) / 1e9);
            }
        } finally {
            router.close(); // each volume's link-status.json: its links marked stopped
        }
        print(summary);
        String incomplete = ImportOutcome.incomplete(summary);
        if (incomplete != null) {
            System.err.println("tapline snoop: imported, but " + incomplete);
            return ImportOutcome.INCOMPLETE_EXIT;
        }
        return 0;
    }

    private int live(VolumeRouter routerToOwn, SnoopConfig config) throws Exception {
        for (Map.Entry<String, String> s : sources.entrySet()) {
            if (!s.getValue().startsWith("nbd://") && !s.getValue().startsWith("iscsi://")) {
                throw new CliFailure("--source: " + s.getKey() + "=" + s.getValue()
                        + " (expected: VOLUME=nbd://HOST:PORT/EXPORT or VOLUME=iscsi://HOST:PORT/IQN/LUN)", 2);
            }
        }
        ServeUntilStopped serve = new ServeUntilStopped();
        VolumeRouter router = serve.own(routerToOwn); // closing empties each volume's link-status.json
        int snap = snaplen == null ? PcapCapture.MAX_SNAPLEN_BYTES : snaplen;
        PcapCapture capture;
        try {
            capture = PcapCapture.openLive(source.iface, filter, (int) Math.min(Integer.MAX_VALUE,
                    captureBuffer == null ? DEFAULT_CAPTURE_BUFFER_BYTES : captureBuffer), snap,
                    decodeQueueBytes());
        } catch (IllegalArgumentException e) {
            throw new CliFailure(e.getMessage(), 2);
        }
        EvidenceRing evidence = writePcap.start(capture, snap);
        if (evidence != null) {
            serve.own(evidence);
        }
        MetricsServer metricsServer = http == null ? null
                : serve.own(MetricsServer.start(http, sourceOptions.tls.config()));
        SnoopVolumes volumes = serve.own(new SnoopVolumes(sources, capture.counters(), buffer,
                metricsServer == null ? null : metricsServer.registry()));
        if (metricsServer != null) {
            var counters = capture.counters();
            var registry = metricsServer.registry();
            io.micrometer.core.instrument.FunctionCounter.builder("tapline_snoop_packets", counters,
                    c -> c.packets()).description("packets decoded").register(registry);
            io.micrometer.core.instrument.FunctionCounter.builder("tapline_snoop_dropped_packets", counters,
                    c -> c.drops()).description("packets the kernel dropped (each drop is a whole-volume GAP)")
                    .register(registry);
            io.micrometer.core.instrument.FunctionCounter.builder("tapline_snoop_truncated_packets", counters,
                    c -> c.truncatedPackets()).description("packets cut by the snap length").register(registry);
            var queue = capture.decodeQueue();
            io.micrometer.core.instrument.Gauge.builder("tapline_snoop_decode_queue_bytes", queue, q -> q.queuedBytes())
                    .description("captured bytes waiting for the decode thread").register(registry);
            io.micrometer.core.instrument.Gauge.builder("tapline_snoop_decode_queue_high_water_bytes", queue,
                    q -> q.highWaterBytes()).description("the most bytes the decode queue held").register(registry);
            io.micrometer.core.instrument.FunctionCounter.builder("tapline_snoop_decode_queue_refused_packets", queue,
                    q -> q.refusedFrames()).description("packets the full decode queue refused (counted in"
                            + " tapline_snoop_dropped_packets)").register(registry);
            if (evidence != null) {
                io.micrometer.core.instrument.FunctionCounter.builder("tapline_snoop_write_pcap_frames", evidence,
                        r -> r.writtenFrames()).description("frames written to the --write-pcap ring").register(registry);
                io.micrometer.core.instrument.FunctionCounter.builder("tapline_snoop_write_pcap_dropped_frames", evidence,
                        r -> r.droppedFrames()).description("frames left out of the --write-pcap ring (its disk was"
                                + " slower than the capture; decoding is not affected)").register(registry);
            }
            StatusPage.serve(metricsServer, "Tapline snoop " + source.iface,
                    Map.of("source", () -> StatusCommand.sourceReport(buffer)));
        }
        router.onShipping(volumes::volumeShipping);
        java.util.concurrent.atomic.AtomicReference<String> captureFailure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread captureThread = new Thread(() -> {
            try {
                capture.run(new SnoopPipeline(router, config), router, read -> { });
            } catch (IOException | RuntimeException e) {
                captureFailure.set(e.getMessage() == null ? e.toString() : e.getMessage());
                System.err.println("tapline snoop: capture stopped: " + captureFailure.get());
                // Closed from another thread: closing joins this one (it must not wait for itself).
                Thread closer = new Thread(serve::closeAll, "snoop-stop");
                closer.start();
            }
        }, "snoop-capture");
        serve.own(() -> {
            capture.stop();
            if (Thread.currentThread() != captureThread) {
                captureThread.join(60_000); // the decode thread first drains its queue
            }
            var q = capture.decodeQueue();
            LOG.info("capture closed decodeQueueHighWaterBytes={} decodeQueueRefusedPackets={}", q.highWaterBytes(),
                    q.refusedFrames());
            capture.close();
        });
        ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "snoop-sync");
            t.setDaemon(true);
            return t;
        });
        serve.own(housekeeping::shutdownNow);
        housekeeping.scheduleWithFixedDelay(() -> {
            capture.pollDrops(router); // here, not on the capture thread: drops must show even when nothing is delivered
            writeCaptureStatus(capture.counters(), true);
        }, SYNC_MILLIS, SYNC_MILLIS, TimeUnit.MILLISECONDS);
        serve.own(() -> writeCaptureStatus(capture.counters(), false));
        captureThread.start();
        // announced once the capture thread drains the kernel ring, not when the handle opened
        while (!capture.awaitCapturing(java.time.Duration.ofMillis(100)) && captureThread.isAlive()) {
            // a capture thread that failed at once has said why; serve.await() below returns
        }
        System.err.println("tapline snoop: capturing on " + source.iface + (filter == null ? "" : " filter '" + filter + "'")
                + (snaplen == null ? "" : ", snaplen " + snaplen)
                + (writePcap.dir == null ? "" : ", evidence ring " + writePcap.dir.toAbsolutePath())
                + ", buffer " + buffer.toAbsolutePath() + ", remotes " + sourceOptions.remotes.size()
                + (kafka == null ? "" : ", kafka " + kafka + " topics " + kafkaTopicPrefix + "<volume>"));
        serve.await();
        if (captureFailure.get() != null) {
            // Not a clean stop: a supervisor (systemd Restart=on-failure) and monitoring must see it.
            throw new CliFailure("capture stopped: " + captureFailure.get());
        }
        return 0;
    }

    /** A quarter of the JVM heap: the largest decode queue. */
    private static long heapQuarter() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /** {@code --decode-queue}, or the default: 512M, at most a quarter of the heap, at least the minimum. */
    private long decodeQueueBytes() {
        return decodeQueue != null ? decodeQueue : Math.max(FrameQueue.MIN_CAPACITY_BYTES,
                Math.min(PcapCapture.DEFAULT_DECODE_QUEUE_BYTES, heapQuarter()));
    }

    private static final long SYNC_MILLIS = 200;
    /** {@code capture-status.json} at the buffer's root: what the live capture has seen and decoded. */
    private void writeCaptureStatus(io.tapline.snoop.capture.CaptureCounters c, boolean running) {
        try {
            new CaptureStatusFile(c.packets(), c.lastPacketMillis(), c.lastDeliveryMillis(), c.lastKernelArrivalMillis(),
                    c.drops(), running, System.currentTimeMillis()).write(buffer);
        } catch (IOException | RuntimeException e) {
            LOG.debug("capture status not written dir={} error={}", buffer, e.toString());
        }
    }

    private static Map<String, Object> volumes(VolumeRouter router) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, VolumeStats> e : router.stats().entrySet()) {
            VolumeStats s = e.getValue();
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("writes", s.writes());
            v.put("writeBytes", s.writeBytes());
            v.put("writeZeroes", s.zeroes());
            v.put("discards", s.discards());
            v.put("flushes", s.flushes());
            v.put("gaps", s.gaps());
            v.put("reads", s.reads());
            v.put("notStored", s.notStored());
            v.put("sizeBytes", s.sizeBytes());
            v.put("blockSizeBytes", s.blockSizeBytes());
            out.put(e.getKey(), v);
        }
        return out;
    }

    private void print(Map<String, Object> summary) {
        if (json) {
            System.out.println(Json.write(summary));
            return;
        }
        System.out.printf("packets %s, captured bytes %s, truncated packets %s, %.2f s%n", summary.get("packets"),
                summary.get("capturedBytes"), summary.get("truncatedPackets"), (Double) summary.get("seconds"));
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> vols = (Map<String, Map<String, Object>>) summary.get("volumes");
        for (Map.Entry<String, Map<String, Object>> e : vols.entrySet()) {
            Map<String, Object> v = e.getValue();
            System.out.printf("volume %s: writes %s (%s bytes), zeroes %s, discards %s, flushes %s, gaps %s, reads %s%n",
                    e.getKey(), v.get("writes"), v.get("writeBytes"), v.get("writeZeroes"), v.get("discards"),
                    v.get("flushes"), v.get("gaps"), v.get("reads"));
        }
    }
}
