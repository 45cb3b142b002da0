package io.tapline.tools;

import io.tapline.replay.ReplayConfig;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.replay.ReplayServer;
import io.tapline.replay.RoleListener;
import io.tapline.wedge.server.NbdEndpoint;
import io.tapline.log.undo.UndoConfig;
import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tapline replay}: the replayer, serving journey links and applying records to replicas. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = "Runs a replayer: accepts journey links and applies records, in order, to <data>/<volume>/replica.img.")
final class ReplayCommand implements Callable<Integer> {

    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Journey link address to listen on (required unless --kafka).")
    InetSocketAddress listen;

    @Option(names = "--kafka", paramLabel = "BROKERS",
            description = "Consume the command log from Apache Kafka (host:port,...) instead of listening: one"
                    + " consumer group per --site, positions kept with each replica's applied state.")
    String kafka;

    @Option(names = "--kafka-topic-prefix", paramLabel = "PREFIX", defaultValue = "tapline.",
            description = "With --kafka: a volume's topic is PREFIX<volume> (default: ${DEFAULT-VALUE}).")
    String kafkaTopicPrefix;

    @Option(names = "--site", paramLabel = "NAME",
            description = "With --kafka: this replica site's name (its consumer group is tapline-replay-NAME).")
    String site;

    @Option(names = "--volumes", paramLabel = "GLOB", defaultValue = "*",
            description = "With --kafka: the volumes to replicate, * and ? as wildcards (default: all).")
    String volumes;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Directory holding one folder per volume.")
    Path data;

    @Option(names = "--credential-file", paramLabel = "FILE",
            description = "File holding the shared secret sources must present (default: none required).")
    Path credentialFile;

    @Option(names = "--nbd", paramLabel = "HOST:PORT",
            description = "Serve every replica as an NBD export here: a hot standby (size visible, data commands"
                    + " refused) until `tapline promote` makes it the volume's primary, then read-write.")
    InetSocketAddress nbd;

    @Option(names = "--forward", paramLabel = "HOST:PORT",
            description = "Forward every replica to a further replayer (a cascade A -> B -> C; repeatable): each hop has"
                    + " its own buffer (<data>/<volume>/forward/), cursor and state.")
    java.util.List<InetSocketAddress> forward = new java.util.ArrayList<>();

    @Option(names = "--source-id", paramLabel = "ID",
            description = "The id a promoted volume presents to its peers (default: host name).")
    String sourceId;

    @Option(names = {"--http", "--metrics"}, paramLabel = "HOST:PORT",
            description = "Serve a status page at http://HOST:PORT/ (refreshes itself), its JSON at /status.json and"
                    + " Prometheus metrics at /metrics.")
    InetSocketAddress metrics;

    @Option(names = "--undo-max-bytes", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Rollback window bound by size per volume, e.g. 200G; the oldest undo segments go first,"
                    + " whole, so the window holds between this minus one 64 MiB segment and this: add 64 MiB to the"
                    + " window you need (default: 8G; at least one segment). The directory takes up to two segments"
                    + " more: one kept for reuse, and a reused one's older bytes until overwritten.")
    Long undoMaxBytes;

    @Option(names = "--undo-max-age", paramLabel = "DURATION",
            description = "Rollback window bound by age per volume, e.g. 7d or 12h (or ISO-8601 P7D, PT12H; default: 7d);"
                    + " applied to whole sealed segments on this replayer's clock (a segment goes once its newest record was applied that"
                    + " long ago, whatever the source's clock stamped), so older records stay reachable on a volume writing less than 64 MiB in that time: see tapline window.")
    Duration undoMaxAge;

    @picocli.CommandLine.Mixin
    TlsOptions tls;

    @Option(names = "--admin-credential-file", paramLabel = "FILE",
            description = "Without TLS: the administrators' own secret; rollback, resume, promote and demote must"
                    + " carry it (the sources' --credential-file no longer does).")
    Path adminCredentialFile;

    @Option(names = "--insecure",
            description = "Allow listening on a non-loopback address without TLS: peers there are accepted with the"
                    + " credential (sent in clear text) or, without one, unauthenticated. Warned at start.")
    boolean insecure;

    @Option(names = "--handshake-timeout", paramLabel = "DURATION", defaultValue = "PT10S",
            description = "Close a connection that has not finished TLS and said HELLO by then, and a source silent"
                    + " three times as long (e.g. 10s or ISO-8601 PT10S; default: ${DEFAULT-VALUE}).")
    Duration handshakeTimeout;

    /** Makes {@code --data} once the settings are known good, so that a wrong one creates nothing. */
    private void createDataDirectory() throws java.io.IOException {
        if (Files.exists(data) && !Files.isDirectory(data)) {
            throw new CliFailure("--data: " + data + " (expected: a directory)");
        }
        io.tapline.log.volume.VolumeFile.checkSettings();
        Files.createDirectories(data);
    }

    @Override
    public Integer call() throws Exception {
        if (kafka != null) {
            return runKafka();
        }
        if (listen == null) {
            throw new CliFailure("--listen: missing (expected: HOST:PORT, or --kafka BROKERS --site NAME)", 2);
        }
        io.tapline.replay.LinkSecurity security;
        try {
            security = new io.tapline.replay.LinkSecurity(tls.config(), insecure, handshakeTimeout,
                    Credentials.read(adminCredentialFile));
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--handshake-timeout: " + e.getMessage(), 2);
        }
        UndoConfig undo;
        try {
            undo = undoConfig(undoMaxBytes, undoMaxAge);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--undo-max-bytes/--undo-max-age: " + e.getMessage());
        }
        createDataDirectory();
        ServeUntilStopped serve = new ServeUntilStopped();
        MetricsServer metricsServer = metrics == null ? null : serve.own(MetricsServer.start(metrics, tls.config()));
        ReplicationLag lag = metricsServer == null ? null
                : new ReplicationLag(metricsServer.registry(), java.time.Clock.systemUTC());
        if (metricsServer != null) {
            java.util.Map<String, java.util.concurrent.Callable<java.util.Map<String, Object>>> sections =
                    new java.util.LinkedHashMap<>();
            sections.put("replicas", () -> ReplicaStatusReport.of(data, null));
            sections.put("replication lag", lag::report);
            sections.put("hot ranges", new HeatSection(data));
            StatusPage.serve(metricsServer, "Tapline replayer " + data.toAbsolutePath(), sections);
        }
        String credential = Credentials.read(credentialFile);
        ReplicaExports exports = null;
        if (nbd != null) {
            NbdEndpoint endpoint = serve.own(NbdEndpoint.create(nbd));
            exports = serve.own(ReplicaExports.create(endpoint, data, new ReplicaExports.PrimarySettings(
                    BufferConfig.ofMaxBytes(64L << 20, 4L << 30),
                    sourceId != null ? sourceId : java.net.InetAddress.getLocalHost().getHostName(), credential,
                    security.tls())));
            if (metricsServer != null) { // a volume promoted here is a source: its buffer's and links' meters
                exports.onPrimaryChange(SourceMetrics.following(metricsServer.registry()));
            }
        }
        String nodeId = sourceId != null ? sourceId : java.net.InetAddress.getLocalHost().getHostName();
        CascadeForwarder forwarder = forward.isEmpty() ? null : serve.own(new CascadeForwarder(data, forward,
                BufferConfig.ofMaxBytes(64L << 20, 4L << 30), nodeId, credential, security.tls()));
        ReplayServer server = serve.own(ReplayServer.start(replayConfig(listen, data, credential).withUndo(undo)
                        .withSecurity(security),
                exports == null ? RoleListener.NONE : exports,
                ReplicationLag.both(forwarder == null ? io.tapline.replay.ApplyObserver.NONE : forwarder,
                        lag == null ? io.tapline.replay.ApplyObserver.NONE : lag)));
        if (forwarder != null) {
            forwarder.attach(server);
        }
        if (exports != null && forwarder != null) {
            exports.trackWritesAlsoIn(forwarder::changesOf); // a volume promoted here: the next hop follows it
        }
        if (exports != null) {
            exports.startServing();
            exports.listen(); // hosts connect once every replica is an export
            System.err.println("tapline replay: replicas served on nbd://"
                    + ReplicationAddresses.hostPort(exports.address()) + "/<volume> (standby until promoted)");
        }
        if (metricsServer != null) {
            ReplayMetrics.bind(metricsServer, server);
        }
        // For status --data: whether the volumes promoted here can reach a host at all.
        AdvisoryFiles.writeText(data, ReplicaStatusReport.NBD_ENDPOINT_FILE,
                exports == null ? "" : ReplicationAddresses.hostPort(exports.address()));
        if (exports == null) {
            for (String primary : ReplicaStatusReport.primaryVolumes(data)) {
                String line = "volume " + primary + " is primary on this node, but this replayer serves no NBD endpoint:"
                        + " no host can reach it until the replayer runs with --nbd HOST:PORT (or `tapline demote` it)";
                org.slf4j.LoggerFactory.getLogger(ReplayCommand.class).warn(line);
                System.err.println("tapline replay: " + line);
            }
        }
        System.err.println("tapline replay: listening on " + server.boundAddress() + ", data " + data.toAbsolutePath());
        serve.await();
        return 0;
    }

    /** {@code --kafka}: a consumer of the site's group applies the volumes' topics to the replicas. */
    private Integer runKafka() throws Exception {
        if (listen != null || nbd != null || !forward.isEmpty()) {
            throw new CliFailure("--kafka: with " + (listen != null ? "--listen" : nbd != null ? "--nbd" : "--forward")
                    + " (expected: --kafka alone; a Kafka replayer neither listens, serves nor forwards yet)", 2);
        }
        if (site == null) {
            throw new CliFailure("--site: missing (expected: NAME of this replica site, with --kafka)", 2);
        }
        UndoConfig undo;
        io.tapline.kafka.KafkaLinkConfig link;
        try {
            undo = undoConfig(undoMaxBytes, undoMaxAge);
            link = io.tapline.kafka.KafkaLinkConfig.of(kafka).withTopicPrefix(kafkaTopicPrefix);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--kafka/--undo-max-bytes/--undo-max-age: " + e.getMessage(), 2);
        }
        createDataDirectory();
        ServeUntilStopped serve = new ServeUntilStopped();
        MetricsServer metricsServer = null;
        if (metrics != null) {
            metricsServer = serve.own(MetricsServer.start(metrics, tls.config()));
            java.util.Map<String, java.util.concurrent.Callable<java.util.Map<String, Object>>> sections =
                    new java.util.LinkedHashMap<>();
            sections.put("replicas", () -> ReplicaStatusReport.of(data, null));
            StatusPage.serve(metricsServer, "Tapline replayer (kafka, site " + site + ") " + data.toAbsolutePath(),
                    sections);
        }
        try {
            io.tapline.kafka.KafkaReplayer replayer = serve.own(
                    io.tapline.kafka.KafkaReplayer.start(link, site, data, volumes, undo));
            if (metricsServer != null) {
                ReplayMetrics.bindKafka(metricsServer, replayer, site);
            }
            replayer.onFailure(why -> {
                System.err.println("tapline replay: " + why);
                new Thread(() -> System.exit(1), "tapline-exit").start(); // the shutdown hook closes the rest
            });
        } catch (IllegalArgumentException e) {
            serve.closeAll();
            throw new CliFailure("--site/--volumes: " + e.getMessage(), 2);
        }
        System.err.println("tapline replay: consuming " + link.topic(volumes) + " from kafka " + kafka + " as site "
                + site + ", data " + data.toAbsolutePath());
        serve.await();
        return 0;
    }

    /** The undo retention from the options; unset ones keep {@link UndoConfig#DEFAULT}'s value. */
    static UndoConfig undoConfig(Long maxBytes, Duration maxAge) {
        UndoConfig d = UndoConfig.DEFAULT;
        return new UndoConfig(d.segmentBytes(), maxBytes == null ? d.maxBytes() : maxBytes,
                maxAge == null ? d.maxAge() : maxAge);
    }

    static ReplayConfig replayConfig(InetSocketAddress listen, Path data, String credential) {
        return ReplayConfig.of(listen, data).withCredential(credential);
    }
}
