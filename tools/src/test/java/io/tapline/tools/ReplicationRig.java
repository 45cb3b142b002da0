package io.tapline.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One replayer and one wedge, each in its own JVM, on loopback ephemeral ports with every file
 * under one directory: the operator's set-up from the README, for integration tests.
 */
final class ReplicationRig implements AutoCloseable {
    static final String EXPORT = "vol1";
    static final Duration START = Duration.ofSeconds(60);

    final Path dir;
    long sizeBytes;
    final InetSocketAddress linkAddress;
    final InetSocketAddress nbdAddress;
    final InetSocketAddress wedgeMetrics;
    final InetSocketAddress replayMetrics;
    private TaplineProcess replayer;
    private java.util.List<String> replayerJvm = java.util.List.of();
    private TaplineProcess wedge;
    private final java.util.List<TaplineProcess> others = new java.util.ArrayList<>();
    private int wedgeStarts;
    private int replayerStarts;

    ReplicationRig(Path dir, long sizeBytes) throws IOException {
        this.dir = dir;
        this.sizeBytes = sizeBytes;
        this.linkAddress = new InetSocketAddress("127.0.0.1", Peers.freePort());
        this.nbdAddress = new InetSocketAddress("127.0.0.1", Peers.freePort());
        this.wedgeMetrics = new InetSocketAddress("127.0.0.1", Peers.freePort());
        this.replayMetrics = new InetSocketAddress("127.0.0.1", Peers.freePort());
    }

    /** The size the wedge is started with from now on (the primary grown or shrunk behind it). */
    void volumeSize(long bytes) {
        this.sizeBytes = bytes;
    }

    ReplicationRig start() throws IOException, InterruptedException {
        startReplayer();
        startWedge();
        return this;
    }

    /** Starts the replayer, then the wedge with these JVM options. */
    ReplicationRig startWithWedgeJvmOptions(java.util.List<String> wedgeJvm) throws IOException, InterruptedException {
        startReplayer();
        startWedgeWithJvmOptions(wedgeJvm);
        return this;
    }

    /** JVM options (system properties) for every replayer this rig starts from now on. */
    ReplicationRig withReplayerJvmOptions(String... options) {
        replayerJvm = java.util.List.of(options);
        return this;
    }

    void startReplayer(String... extraArgs) throws IOException, InterruptedException {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
                "replay", "--listen", hostPort(linkAddress), "--data", dir.resolve("remote").toString(),
                "--metrics", hostPort(replayMetrics)));
        args.addAll(java.util.List.of(extraArgs));
        // A replayer with --nbd serves replica exports: it scans for role changes busily (see BUSY_SCAN).
        java.util.List<String> jvm = new java.util.ArrayList<>(args.contains("--nbd") ? TaplineProcess.BUSY_SCAN
                : java.util.List.of("-Xmx512m"));
        jvm.addAll(replayerJvm);
        replayer = TaplineProcess.startWithJvmOptions(dir.resolve("replay-" + (++replayerStarts) + ".log"), jvm,
                args.toArray(String[]::new)).awaitListening(linkAddress, START);
    }

    void startWedge(String... extraArgs) throws IOException, InterruptedException {
        startWedgeWithJvmOptions(java.util.List.of("-Xmx512m"), extraArgs);
    }

    /** {@link #startWedge} with these JVM options (the first is the heap, e.g. {@code -Xmx512m}). */
    void startWedgeWithJvmOptions(java.util.List<String> jvm, String... extraArgs) throws IOException,
            InterruptedException {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
                "wedge", "--nbd", hostPort(nbdAddress), "--export", EXPORT,
                "--volume", primary().toString(), "--size", Long.toString(sizeBytes),
                "--buffer", buffer().toString(), "--remote", hostPort(linkAddress),
                "--metrics", hostPort(wedgeMetrics)));
        args.addAll(java.util.List.of(extraArgs));
        wedge = TaplineProcess.startWithJvmOptions(dir.resolve("wedge-" + (++wedgeStarts) + ".log"), jvm,
                args.toArray(String[]::new)).awaitListening(nbdAddress, START);
    }

    TaplineProcess wedge() {
        return wedge;
    }

    TaplineProcess replayer() {
        return replayer;
    }

    String uri() {
        return "nbd://" + hostPort(nbdAddress) + "/" + EXPORT;
    }

    Path primary() {
        return dir.resolve("primary.img");
    }

    Path buffer() {
        return dir.resolve("buffer");
    }

    Path replica() {
        return dir.resolve("remote").resolve(EXPORT).resolve("replica.img");
    }

    /** {@code tapline status --wait-synced}; fails with both logs when it does not get there. */
    void awaitSynced(Duration timeout) throws IOException, InterruptedException {
        awaitSynced(buffer(), timeout, wedge, replayer);
    }

    /** {@code tapline status --buffer BUFFER --wait-synced}; fails with both logs when it does not get there. */
    static void awaitSynced(Path buffer, Duration timeout, TaplineProcess wedge, TaplineProcess replayer)
            throws IOException, InterruptedException {
        Peers.Result r = TaplineProcess.run(timeout.plusSeconds(30), "status", "--buffer", buffer.toString(),
                "--wait-synced", Long.toString(timeout.toSeconds()));
        if (r.exitCode() != 0) {
            throw new AssertionError("not synced: " + r.output() + "\n--- wedge log:\n" + wedge.logText()
                    + "\n--- replayer log:\n" + replayer.logText());
        }
    }

    /**
     * Samples {@code status --buffer BUFFER --json} until its first volume's first remote matches
     * {@code condition}; that remote's JSON. Fails with the last sample and the wedge's log.
     */
    static com.fasterxml.jackson.databind.JsonNode awaitFirstRemote(Path buffer,
            java.util.function.Predicate<com.fasterxml.jackson.databind.JsonNode> condition, Duration timeout,
            TaplineProcess wedge) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String out = "";
        while (System.nanoTime() < deadline) {
            out = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", buffer.toString(), "--json").output();
            com.fasterxml.jackson.databind.JsonNode remote = io.tapline.tools.cli.Json.mapper().readTree(
                    out.substring(out.indexOf('{'))).get("volumes").get(0).get("remotes").get(0);
            if (condition.test(remote)) {
                return remote;
            }
        }
        throw new AssertionError("status never matched in " + timeout + ":\n" + out + "\n--- wedge log:\n"
                + wedge.logText());
    }

    /**
     * The size of the acceptance suite's volumes (question 9: every question is answered on a
     * 200 GiB sparse volume, which nothing may scan or allocate whole).
     */
    static final long LARGE_VOLUME_BYTES = 200L << 30;

    /**
     * Asserts the replica holds the primary's bytes: md5 of both for images under 1 GiB; from there
     * the same size and {@code qemu-img compare}, which compares every byte yet skips ranges both
     * files leave as holes (a 200 GiB sparse volume is not read whole; NeverStrandedIT's 4 GiB one
     * took 40 s of md5 over its holes).
     */
    void assertReplicaMatchesPrimary() throws IOException {
        if (Files.size(primary()) >= (1L << 30)) {
            if (Files.size(replica()) != Files.size(primary())) {
                throw new AssertionError("replica size " + Files.size(replica()) + " != primary size "
                        + Files.size(primary()));
            }
            try {
                SparseImages.assertSameBytes(primary(), replica());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            return;
        }
        String primaryMd5 = Peers.md5(primary());
        String replicaMd5 = Peers.md5(replica());
        if (!primaryMd5.equals(replicaMd5)) {
            throw new AssertionError("replica md5 " + replicaMd5 + " != primary md5 " + primaryMd5
                    + " (sizes " + Files.size(replica()) + " / " + Files.size(primary()) + ")");
        }
    }

    /** The value of a Prometheus sample line {@code name{labels} value} from {@code address}, or NaN. */
    static double metric(InetSocketAddress address, String sampleName) throws IOException, InterruptedException {
        var client = java.net.http.HttpClient.newHttpClient();
        var response = client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://" + hostPort(address) + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        for (String line : response.body().lines().toList()) {
            if (line.startsWith(sampleName + " ") || line.startsWith(sampleName + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private final java.util.List<Process> peers = new java.util.ArrayList<>();

    /** A peer process of the test (a writer), killed with the rig. */
    Process ownProcess(Process p) {
        peers.add(p);
        return p;
    }

    /** A further process of the test, stopped with the rig. */
    TaplineProcess own(TaplineProcess p) {
        others.add(p);
        return p;
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : peers) {
            p.destroyForcibly();
        }
        for (TaplineProcess p : others) {
            p.close();
        }
        if (wedge != null) {
            wedge.close();
        }
        if (replayer != null) {
            replayer.close();
        }
    }
}
