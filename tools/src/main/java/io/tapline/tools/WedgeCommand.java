package io.tapline.tools;

import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import io.tapline.log.volume.PageCachePolicy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tapline wedge}: the inline NBD interceptor, its capture buffer and its shippers. */
@Command(name = "wedge", mixinStandardHelpOptions = true,
        description = "Serves a primary volume over NBD; every write goes to the volume and into the capture buffer, "
                + "which is shipped to each --remote replayer.")
final class WedgeCommand implements Callable<Integer> {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WedgeCommand.class);

    @Option(names = "--nbd", required = true, paramLabel = "HOST:PORT", description = "NBD address to listen on.")
    InetSocketAddress nbd;

    @Option(names = "--export", required = true, paramLabel = "NAME", description = "Export name, also the volume id.")
    String export;

    @Option(names = "--volume", required = true, paramLabel = "FILE", description = "Primary volume image (created sparse if missing).")
    Path volume;

    @Option(names = "--size", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Volume size, e.g. 4G (required when the volume file does not exist; must match when it does).")
    Long size;

    @Mixin
    SourceOptions sourceOptions;

    @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "Capture buffer directory.")
    Path buffer;

    @Option(names = "--kafka", paramLabel = "BROKERS",
            description = "Also ship the command log to Apache Kafka (host:port,...): one topic per volume, written"
                    + " from the capture buffer, whose cursor advances only when Kafka acknowledged.")
    String kafka;

    @Option(names = "--kafka-topic-prefix", paramLabel = "PREFIX", defaultValue = "tapline.",
            description = "The volume's topic is PREFIX<export> (default: ${DEFAULT-VALUE}).")
    String kafkaTopicPrefix;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the replayer's shared secret.")
    Path credentialFile;

    @Option(names = {"--http", "--metrics"}, paramLabel = "HOST:PORT",
            description = "Serve a status page at http://HOST:PORT/ (refreshes itself), its JSON at /status.json and"
                    + " Prometheus metrics at /metrics.")
    InetSocketAddress metrics;

    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Also run a journey endpoint here (a node): if the volume's replica is promoted elsewhere,"
                    + " this wedge stops serving its host, keeps what never shipped as a discarded image and rejoins"
                    + " as the new primary's secondary (node data in <buffer>/node).")
    InetSocketAddress listen;

    @Option(names = "--resync-rate", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Bytes of the primary a resync may read per second for comparisons, e.g. 200M "
                    + "(default: unlimited).")
    Long resyncRate;

    @Option(names = "--resync-chunk", paramLabel = "SIZE", converter = ByteSizeConverter.class, defaultValue = "64K",
            description = "Chunk compared by hash first; differing chunks are compared again per 4 KiB block "
                    + "(power of two, 4K..1M; default: ${DEFAULT-VALUE}).")
    long resyncChunk;

    @Option(names = "--activity-extents", paramLabel = "N", defaultValue = "1024",
            description = "Extents of 4 MiB the activity log keeps hot (DRBD's al-extents): after a crash or kill the "
                    + "resync compares only the hot extents, at most N x 4 MiB while the host flushes; a write into an "
                    + "extent that is not hot first costs one small fdatasync. 0: no log, a crash makes the resync "
                    + "compare every chunk. Journal mode only (default: ${DEFAULT-VALUE}, 4 GiB).")
    int activityExtents;

    /** How the volume is mirrored. */
    enum Mode { JOURNAL, CYCLES }

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "journal", converter = ModeConverter.class,
            description = "'journal': every write is captured and shipped in order (the replica is seconds behind and "
                    + "always moving); 'cycles': writes go to a layer beside the volume, and every --cycle the volume is "
                    + "frozen and the frozen image's changed blocks are copied (a block rewritten many times crosses "
                    + "once; each replica holds the image of the last copied cycle) (default: ${DEFAULT-VALUE}).")
    Mode mode;

    @Option(names = "--release-remote-after", paramLabel = "DURATION", defaultValue = "10m",
            converter = io.tapline.tools.cli.DurationOrNeverConverter.class,
            description = "With several --remote: a remote whose link has been down this long, and that alone holds the"
                    + " records of a buffer past a quarter of its high-water mark while the others wait, is released: the"
                    + " buffer stops keeping"
                    + " records for it and it gets a full resync when it returns; 0: never, every remote waits for the"
                    + " slowest (default: ${DEFAULT-VALUE}).")
    java.time.Duration releaseRemoteAfter;

    @Option(names = "--cycle", paramLabel = "DURATION", defaultValue = "30s",
            converter = io.tapline.tools.cli.DurationConverter.class,
            description = "With --mode cycles: a cycle starts this long after the last freeze if the host wrote (never "
                    + "before the last copy completed), e.g. 30s, 5m (default: ${DEFAULT-VALUE}). 'tapline cycle now' "
                    + "starts one at once.")
    java.time.Duration cycle;

    @Option(names = "--group", paramLabel = "NAME",
            description = "With --mode cycles and --member: the name of the group of volumes that freeze at one instant"
                    + " (e.g. a database's data and log volumes); its replicas hold images of the same instant.")
    String group;

    @Option(names = "--member", paramLabel = "EXPORT=FILE",
            description = "Another volume of the --group, served as export EXPORT on the same --nbd address, with the"
                    + " same buffer directory and remotes (repeatable; the file is created with --size if missing).")
    java.util.Map<String, Path> members = new java.util.LinkedHashMap<>();

    /** An enum option's value in any case, '-' for '_'; anything else is named with what is expected. */
    abstract static class LowerCaseEnum<E extends Enum<E>> implements picocli.CommandLine.ITypeConverter<E> {
        private final Class<E> type;
        private final String option;

        LowerCaseEnum(Class<E> type, String option) {
            this.type = type;
            this.option = option;
        }

        @Override
        public E convert(String value) {
            try {
                return Enum.valueOf(type, value.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(option + ": " + value + " (expected: "
                        + java.util.Arrays.stream(type.getEnumConstants()).map(c -> c.name().toLowerCase(
                                java.util.Locale.ROOT).replace('_', '-')).collect(java.util.stream.Collectors.joining(" or "))
                        + ")");
            }
        }
    }

    /** Accepts {@code journal} and {@code cycles}, in any case. */
    static final class ModeConverter extends LowerCaseEnum<Mode> {
        ModeConverter() {
            super(Mode.class, "--mode");
        }
    }

    /** Page-cache policy of the primary's writes ({@link PageCachePolicy}); {@code none} as nbdkit's file plugin names it. */
    enum PrimaryCache {
        KERNEL(PageCachePolicy.KERNEL), PACED(PageCachePolicy.PACED), NONE(PageCachePolicy.DROPPED);

        final PageCachePolicy policy;

        PrimaryCache(PageCachePolicy policy) {
            this.policy = policy;
        }

        String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    @Option(names = "--primary-cache", paramLabel = "MODE", converter = PrimaryCacheConverter.class,
            description = "Page cache for the primary's writes: 'paced' (the default) starts the writeback of a write "
                    + "of 64 KiB or more at once (at most 8 MiB in flight) and of smaller ones every 16 MiB, pages "
                    + "still cached, so the kernel never flushes the primary in bursts that stall every other sync "
                    + "(the lowest replication lag); "
                    + "'kernel' leaves writeback to the kernel (bursts once pages are 30 s old); 'none' keeps eight "
                    + "writes in flight and drops their pages once on disk, as nbdkit file cache=none (reads of recent "
                    + "writes go to the disk). With --listen or --mode cycles only 'kernel' (their default).")
    PrimaryCache primaryCache;

    /** Accepts {@code kernel}, {@code paced} and {@code none}, in any case. */
    static final class PrimaryCacheConverter extends LowerCaseEnum<PrimaryCache> {
        PrimaryCacheConverter() {
            super(PrimaryCache.class, "--primary-cache");
        }
    }

    /** Whether captured records are forced ({@link io.tapline.log.buffer.BufferConfig#writeOnce}). */
    enum BufferDurability {
        DURABLE, WRITE_ONCE;

        String word() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    @Option(names = "--buffer-durability", paramLabel = "MODE", converter = BufferDurabilityConverter.class,
            defaultValue = "durable",
            description = "'durable' (the default): the buffer's records are forced with every FLUSH/FUA and segment "
                    + "roll, so a power cut loses no record the host flushed; 'write-once': records stay in the page "
                    + "cache and are deleted once every remote acknowledged them, before the kernel writes them back, so "
                    + "each captured byte reaches this disk once (in the primary) while the link keeps up. A crash or "
                    + "power cut may then lose unshipped records: the buffer restarts past a durable sequence floor and "
                    + "a resync compares the activity log's hot extents (every chunk without one, or for a replica "
                    + "further back than the log covers; status says which mode runs). Journal mode over the journey link only.")
    BufferDurability bufferDurability;

    /** Accepts {@code durable} and {@code write-once}, in any case. */
    static final class BufferDurabilityConverter extends LowerCaseEnum<BufferDurability> {
        BufferDurabilityConverter() {
            super(BufferDurability.class, "--buffer-durability");
        }
    }

    /**
     * A plain wedge on a wedge node's buffer whose volume the node no longer owns as its first
     * primary (a secondary after a failover, or a promoted generation whose buffer is under
     * {@code node/}): the host would write a volume another node serves, and the node's next start
     * would resync those acknowledged writes away (probe Q D9). Refused before anything is served.
     */
    private void refuseANodesBuffer() throws java.io.IOException {
        refuseANodesVolume(buffer.resolve(NODE_DATA).resolve(export), "--buffer " + buffer);
        // The image itself names the node folder that served it, whatever --buffer and --export say
        // (probe S S1, T T3).
        java.nio.file.Path marked = NodeVolumeMark.read(volume);
        if (marked != null) {
            refuseANodesVolume(marked, "--volume " + volume);
        }
    }

    private void refuseANodesVolume(java.nio.file.Path nodeVolume, String what) throws java.io.IOException {
        if (!java.nio.file.Files.exists(nodeVolume.resolve(io.tapline.replay.VolumeRole.FILE))) {
            return;
        }
        io.tapline.replay.VolumeRole role = io.tapline.replay.VolumeRole.read(nodeVolume);
        String state = java.nio.file.Files.exists(nodeVolume.resolve(ReplicaExports.SPLIT_BRAIN)) ? " in a split brain"
                : java.nio.file.Files.exists(nodeVolume.resolve(ReplicaExports.SUPERSEDED)) ? ", superseded" : "";
        if (!role.primary() || role.generation() != 1 || !state.isEmpty()) { // split brain, superseded: probe S S2
            throw new CliFailure(what + ": a wedge node's (" + nodeVolume.getParent() + ": volume "
                    + nodeVolume.getFileName() + " is " + role.roleName() + " of generation " + role.generation() + state
                    + " there): start it as that node, with --listen HOST:PORT; a plain wedge would serve its host a"
                    + " volume this node does not own");
        }
    }

    @Override
    public Integer call() throws Exception {
        if (bufferDurability == BufferDurability.WRITE_ONCE
                && (mode == Mode.CYCLES || listen != null || kafka != null || group != null)) {
            throw new CliFailure("--buffer-durability: write-once (expected: journal mode over the journey link, without"
                    + " --mode cycles, --listen, --kafka or --group)", 2);
        }
        boolean otherThanKernel = primaryCache != null && primaryCache != PrimaryCache.KERNEL;
        if (mode == Mode.CYCLES && (listen != null || otherThanKernel)) {
            throw new CliFailure("--mode: cycles (expected: without " + (listen != null ? "--listen"
                    : "--primary-cache " + primaryCache.word())
                    + "; cycle mode serves a plain wedge for now)", 2);
        }
        if ((group != null || !members.isEmpty()) && (mode != Mode.CYCLES || group == null || members.isEmpty())) {
            throw new CliFailure("--group/--member: " + (mode != Mode.CYCLES ? "need --mode cycles"
                    : group == null ? "--member needs --group NAME" : "--group needs at least one --member"), 2);
        }
        if (listen != null && otherThanKernel) {
            throw new CliFailure("--primary-cache: " + primaryCache.word()
                    + " (expected: kernel with --listen; a node's volumes keep the kernel's page-cache policy)", 2);
        }
        io.tapline.kafka.KafkaLinkConfig kafkaLink = kafkaLink();
        ServeUntilStopped serve = new ServeUntilStopped();
        MetricsServer metricsServer = metrics == null ? null : serve.own(MetricsServer.start(metrics, sourceOptions.tls.config()));
        if (metricsServer != null) {
            java.util.Map<String, java.util.concurrent.Callable<java.util.Map<String, Object>>> sections =
                    new java.util.LinkedHashMap<>();
            sections.put("source", () -> StatusCommand.sourceReport(buffer));
            if (listen != null) {
                sections.put("node replicas", () -> ReplicaStatusReport.of(buffer.resolve(NODE_DATA), null));
            }
            StatusPage.serve(metricsServer, "Tapline wedge " + export, sections);
        }
        if (listen != null) {
            return runNode(serve, metricsServer);
        }
        refuseANodesBuffer();
        if (group != null) {
            return runGroup(serve, metricsServer);
        }
        SourceNode node = serve.own(mode == Mode.CYCLES ? SourceNode.startCycles(settings(), cycle, null)
                : SourceNode.start(settings()));
        if (kafkaLink != null) {
            SourceNode.Settings s = settings();
            node.shipToKafka(kafkaLink, s.sourceId(), s.sizeBytes());
        }
        PrimaryCache cache = primaryCache != null ? primaryCache : mode == Mode.CYCLES ? PrimaryCache.KERNEL : PrimaryCache.PACED;
        if (!node.usePrimaryPageCachePolicy(cache.policy)) {
            System.err.println("tapline wedge: --primary-cache " + cache.word() + " is not available here (no "
                    + "sync_file_range/posix_fadvise); the primary's writeback is left to the kernel");
        }
        if (metricsServer != null) {
            node.bindMetrics(metricsServer.registry(), export);
        }
        System.err.println("tapline wedge: serving nbd://" + ReplicationAddresses.hostPort(node.nbdAddress()) + "/" + export
                + ", buffer " + buffer.toAbsolutePath() + ", remotes " + sourceOptions.remotes.size()
                + (kafkaLink != null ? ", kafka topic " + kafkaLink.topic(export) + " on " + kafka : "")
                + (mode == Mode.CYCLES ? ", cycle mode every " + cycle.toSeconds() + " s" : ""));
        serve.await();
        return 0;
    }

    /**
     * A group of volumes in cycle mode: every volume an export of one NBD endpoint, each with its
     * buffer and shippers, all frozen at one instant ({@link CycleGroup}).
     */
    private Integer runGroup(ServeUntilStopped serve, MetricsServer metricsServer) throws Exception {
        io.tapline.wedge.server.NbdEndpoint endpoint = serve.own(io.tapline.wedge.server.NbdEndpoint.create(nbd));
        CycleGroup cycleGroup = new CycleGroup(group);
        java.util.Map<String, Path> volumes = new java.util.LinkedHashMap<>();
        volumes.put(export, volume);
        for (var m : members.entrySet()) {
            if (volumes.putIfAbsent(m.getKey(), m.getValue()) != null) {
                throw new CliFailure("--member: " + m.getKey() + " (expected: a name no other volume of the group has)", 2);
            }
        }
        for (var v : volumes.entrySet()) {
            SourceNode node = serve.own(SourceNode.startCycles(settings(v.getKey(), v.getValue()).on(endpoint,
                    java.util.function.UnaryOperator.identity(), 0), cycle, cycleGroup));
            if (metricsServer != null) {
                node.bindMetrics(metricsServer.registry(), v.getKey());
            }
        }
        endpoint.listen();
        System.err.println("tapline wedge: group " + group + " serving " + String.join(", ", volumes.keySet()) + " on nbd://"
                + ReplicationAddresses.hostPort(endpoint.boundAddress()) + "/, buffer " + buffer.toAbsolutePath()
                + ", cycle mode every " + cycle.toSeconds() + " s");
        serve.await();
        return 0;
    }

    /** The wedge as a node: its volume on a shared NBD endpoint, and a replayer for the day it is fenced. */
    private Integer runNode(ServeUntilStopped serve, MetricsServer metricsServer) throws Exception {
        SourceNode.Settings settings = settings();
        Path nodeData = buffer.resolve(NODE_DATA);
        io.tapline.wedge.server.NbdEndpoint endpoint = serve.own(io.tapline.wedge.server.NbdEndpoint.create(nbd));
        ReplicaExports exports = serve.own(ReplicaExports.create(endpoint, nodeData, new ReplicaExports.PrimarySettings(
                settings.bufferConfig(), settings.sourceId(), settings.credential(), settings.tls())));
        serve.own(io.tapline.replay.ReplayServer.start(
                ReplayCommand.replayConfig(listen, nodeData, settings.credential()).withSecurity(
                        new io.tapline.replay.LinkSecurity(settings.tls(), false,
                                io.tapline.replay.LinkSecurity.LOOPBACK.handshakeTimeout())), exports));
        if (metricsServer != null) { // the own volume's meters, and those of any volume promoted here later
            exports.onPrimaryChange(SourceMetrics.following(metricsServer.registry()));
        }
        exports.serveOwn(settings);
        exports.startServing();
        exports.listen(); // the host connects once its export is there
        SourceNode node = exports.ownNode();
        System.err.println("tapline wedge: node serving nbd://" + ReplicationAddresses.hostPort(endpoint.boundAddress())
                + "/" + export + " (" + (node != null ? "primary" : "secondary: standby") + "), journey endpoint "
                + ReplicationAddresses.hostPort(listen) + ", buffer " + buffer.toAbsolutePath());
        serve.await();
        return 0;
    }

    /** The Kafka link of {@code --kafka}, or null; only for a plain journal-mode wedge for now. */
    private io.tapline.kafka.KafkaLinkConfig kafkaLink() {
        if (kafka == null) {
            return null;
        }
        if (mode == Mode.CYCLES || listen != null) {
            throw new CliFailure("--kafka: with " + (listen != null ? "--listen" : "--mode cycles")
                    + " (expected: a journal-mode wedge without --listen; the other modes do not ship to Kafka yet)", 2);
        }
        try {
            return io.tapline.kafka.KafkaLinkConfig.of(kafka).withTopicPrefix(kafkaTopicPrefix);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--kafka/--kafka-topic-prefix: " + e.getMessage(), 2);
        }
    }

    /** Under the buffer directory: the node's replayer data (one folder per volume, as a replayer's). */
    static final String NODE_DATA = "node";

    /** Refuses an export name that is no volume id (exit 2): the wedge's and the quickstart's. */
    static void checkExport(String export) {
        String idProblem = io.tapline.replay.VolumeIds.problem(export);
        if (idProblem != null) {
            throw new CliFailure("--export: " + idProblem.replace("volumeId: ", ""), 2);
        }
    }

    SourceNode.Settings settings() throws IOException {
        return settings(export, volume);
    }

    private SourceNode.Settings settings(String export, Path volume) throws IOException {
        checkExport(export);
        if (listen != null && export.equals(NODE_DATA)) {
            throw new CliFailure("--export: " + NODE_DATA + " (expected: another name with --listen: <buffer>/"
                    + NODE_DATA + " holds the node's data)", 2);
        }
        long sizeBytes = volumeSize(volume, size);
        if (sizeBytes % 512 != 0) {
            // Served as it is; QEMU's NBD client rounds the size up to 512 bytes and then fails writes
            // into the last partial sector with ENOSPC, which looks like a wedge fault.
            LOG.warn("volume={} size {} bytes is not a multiple of 512: QEMU clients (qemu-img, qemu-io, VMs) round it"
                    + " up and cannot write its last {} bytes", export, sizeBytes, sizeBytes % 512);
        }
        io.tapline.journey.resync.ResyncConfig resync;
        try {
            if (resyncChunk > (1 << 20)) {
                throw new IllegalArgumentException("chunkBytes: " + resyncChunk + " (expected: a power of two in 4096..1048576)");
            }
            var d = io.tapline.journey.resync.ResyncConfig.DEFAULT;
            resync = new io.tapline.journey.resync.ResyncConfig((int) resyncChunk, d.blockBytes(),
                    resyncRate == null ? 0 : resyncRate,
                    d.ackTimeout(), d.poll(), kafka != null, // Kafka's sites cannot be asked for hashes
                    releaseRemoteAfter);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--resync-chunk/--resync-rate: " + e.getMessage(), 2);
        }
        return new SourceNode.Settings(nbd, export, volume, sizeBytes, buffer,
                sourceOptions.bufferConfig().withWriteOnce(bufferDurability == BufferDurability.WRITE_ONCE)
                        .withActivityLog(activityLog(sizeBytes)),
                sourceOptions.remotes, sourceOptions.sourceId(), Credentials.read(credentialFile), resync)
                .withTls(sourceOptions.tls.config());
    }

    /** The activity log of a journal-mode wedge ({@code --activity-extents}); cycle mode keeps none. */
    private io.tapline.log.buffer.ActivityLogConfig activityLog(long sizeBytes) {
        if (mode == Mode.CYCLES) {
            return io.tapline.log.buffer.ActivityLogConfig.OFF; // a crash makes the next cycle full anyway
        }
        io.tapline.log.buffer.ActivityLogConfig config;
        try {
            config = io.tapline.log.buffer.ActivityLogConfig.DEFAULT.withHotExtents(activityExtents);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--activity-extents: " + activityExtents + " (expected: 0..1048576)", 2);
        }
        if (config.enabled() && sizeBytes > config.reachBytes()) {
            throw new CliFailure("--size: " + sizeBytes + " bytes is past the activity log's reach of "
                    + config.reachBytes() + " bytes (expected: a smaller volume, or --activity-extents 0 to run"
                    + " without an activity log: a crash then resyncs the whole volume)", 2);
        }
        return config;
    }

    /** The configured size, or the existing file's; refuses a mismatch or a missing size for a new file. */
    static long volumeSize(Path volume, Long size) throws IOException {
        if (Files.exists(volume)) {
            if (!Files.isRegularFile(volume) || !Files.isWritable(volume)) {
                throw new CliFailure("volume: " + volume + " (expected: a writable regular file)");
            }
            long existing = Files.size(volume);
            if (size != null && size != existing && existing != 0) {
                throw new CliFailure("--size: " + size + " bytes (expected: " + existing + ", the size of existing volume "
                        + volume + ")");
            }
            return size != null ? size : existing;
        }
        if (size == null) {
            throw new CliFailure("--size: missing (expected: a size such as 4G, since " + volume + " does not exist yet)", 2);
        }
        Path parent = volume.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new CliFailure("volume: " + volume + " (expected: a file in an existing directory)");
        }
        return size;
    }
}
