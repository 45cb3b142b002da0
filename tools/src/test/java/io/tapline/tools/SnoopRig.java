package io.tapline.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A replayer and a live {@code tapline snoop} on {@code lo}, each in its own JVM, plus the
 * storage peers a test starts (tgtd, nbdkit): everything is stopped by {@link #close}, peers by
 * their own process or pid file, never by name. Needs root (live capture).
 */
final class SnoopRig implements AutoCloseable {
    static final Duration START = Duration.ofSeconds(60);
    static final Duration PEER = Duration.ofMinutes(2);

    final Path dir;
    final InetSocketAddress linkAddress;
    private TaplineProcess replayer;
    private TaplineProcess snoop;
    private final List<Process> peers = new ArrayList<>();
    private final List<Path> pidFiles = new ArrayList<>();
    private final List<String[]> stopCommands = new ArrayList<>();

    SnoopRig(Path dir) throws IOException {
        this.dir = dir;
        this.linkAddress = new InetSocketAddress("127.0.0.1", Peers.freePort());
    }

    SnoopRig startReplayer() throws IOException, InterruptedException {
        replayer = TaplineProcess.start(dir.resolve("replay.log"), "replay", "--listen",
                ReplicationRig.hostPort(linkAddress), "--data", dir.resolve("remote").toString())
                .awaitListening(linkAddress, START);
        return this;
    }

    /**
     * Starts {@code tapline snoop --interface lo} for traffic on {@code port} and returns once it
     * says it is capturing (the pcap handle is active from that line on, so no packet of a peer
     * started afterwards is missed).
     */
    private int snoopStarts;

    SnoopRig startSnoop(int port, String... extra) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("snoop", "--interface", "lo", "--filter", "tcp port " + port,
                "--buffer", buffer().toString(), "--remote", ReplicationRig.hostPort(linkAddress),
                "--iscsi-port", Integer.toString(port), "--nbd-port", Integer.toString(port),
                "--source-id", "snoop-it", "--blank-targets")); // the rig's targets start empty
        if (!List.of(extra).contains("--capture-buffer")) {
            args.addAll(List.of("--capture-buffer", "128M"));
        }
        args.addAll(List.of(extra));
        // The heap a production snoop has at least (its default decode queue is a quarter of it),
        // and the client compiler alone, as both launchers start the snoop.
        // Safepoints and collections go to a file of their own: a test that finds drops shows the
        // JVM's long stops beside them ({@link #snoopJvmStops}).
        // A log of its own per start: the line waited for must be this process's, not an earlier one's.
        String log = ++snoopStarts == 1 ? "snoop.log" : "snoop-" + snoopStarts + ".log";
        snoop = TaplineProcess.startWithJvmOptions(dir.resolve(log),
                        snoopJvmOptions(), args.toArray(String[]::new))
                .awaitLogLine("tapline snoop: capturing on", START);
        return this;
    }

    /** Starts a long-running peer in the foreground of its own process, logging to {@code name}.log. */
    Process startPeer(String name, String... cmd) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve(name + ".log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd[0] + " (is it installed? .ci/run installs it): " + e.getMessage());
        }
        peers.add(p);
        return p;
    }

    /**
     * tgtd on 127.0.0.1:{@code port} with its own control port, one target {@code iqn}, one LUN of
     * {@code lunBytes} per file (created or resized), any initiator, then each {@code KEY=VALUE}
     * of {@code params} set on the target (e.g. {@code MaxRecvDataSegmentLength=262144}).
     */
    void startTgtd(int port, String iqn, List<Path> luns, long lunBytes, List<String> params) throws Exception {
        // tgtd's management channel is a unix socket numbered by -C (0..32767): one per test, so
        // that another tgtd on this machine (the default, 0) is never touched
        String control = Integer.toString(1 + port % 32000);
        startPeer("tgtd", "tgtd", "-f", "-C", control, "--iscsi", "portal=127.0.0.1:" + port);
        // tgtd ignores SIGTERM; deleting the system makes it exit once no session is left
        onCloseRun("tgtadm", "-C", control, "--op", "delete", "--mode", "system");
        long deadline = System.nanoTime() + START.toNanos();
        while (Peers.run(PEER, "tgtadm", "-C", control, "--lld", "iscsi", "--op", "show", "--mode", "sys").exitCode() != 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("tgtd not answering on control port " + control + ":\n"
                        + Files.readString(dir.resolve("tgtd.log")));
            }
        }
        Peers.ok(PEER, "tgtadm", "-C", control, "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1",
                "-T", iqn);
        for (int i = 0; i < luns.size(); i++) {
            try (var f = new java.io.RandomAccessFile(luns.get(i).toFile(), "rw")) {
                f.setLength(lunBytes);
            }
            Peers.ok(PEER, "tgtadm", "-C", control, "--lld", "iscsi", "--op", "new", "--mode", "logicalunit",
                    "--tid", "1", "--lun", Integer.toString(i + 1), "-b", luns.get(i).toString());
        }
        Peers.ok(PEER, "tgtadm", "-C", control, "--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1",
                "-I", "ALL");
        for (String p : params) {
            int eq = p.indexOf('=');
            Peers.ok(PEER, "tgtadm", "-C", control, "--lld", "iscsi", "--op", "update", "--mode", "target",
                    "--tid", "1", "-n", p.substring(0, eq), "-v", p.substring(eq + 1));
        }
    }

    /** A file of {@code bytes} random bytes (from {@code seed}) in the rig's directory. */
    Path randomFile(String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new java.util.Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    /** The volume name the snoop gives LUN {@code lun} of target {@code iqn} (the documented rule). */
    static String iscsiVolume(String iqn, int lun) {
        return new io.tapline.snoop.volume.VolumeNames(List.of()).name(io.tapline.snoop.volume.VolumeKey.iscsi(iqn, lun));
    }

    /** A command that asks a peer to stop gracefully, run by {@link #close} before peers are signalled. */
    void onCloseRun(String... cmd) {
        stopCommands.add(cmd);
    }

    /** A daemon that wrote its pid to {@code pidFile}: {@link #close} stops that pid. */
    void ownPidFile(Path pidFile) {
        pidFiles.add(pidFile);
    }

    /**
     * The launchers' snoop options, a safepoint and collection log, and what the system property
     * {@code tapline.it.snoopJvmOptions} adds (space-separated; e.g. a JFR recording to profile
     * the snoop under an IT's load).
     */
    private List<String> snoopJvmOptions() {
        List<String> options = new ArrayList<>(List.of("-Xmx2g", "-XX:TieredStopAtLevel=1",
                "-Xlog:safepoint=info,gc=info:file=" + dir.resolve("snoop-jvm.log") + ":uptime"));
        String extra = System.getProperty("tapline.it.snoopJvmOptions", "").trim();
        if (!extra.isEmpty()) {
            options.addAll(List.of(extra.split("\\s+")));
        }
        return options;
    }

    /**
     * The snoop JVM's safepoints that stopped its threads for at least {@code minMillis} (from
     * reaching the safepoint to leaving it) and its collections, one per line, for a failure's
     * message: a capture thread stopped that long lets the kernel ring fill.
     */
    String snoopJvmStops(long minMillis) throws IOException {
        Path log = dir.resolve("snoop-jvm.log");
        if (!Files.exists(log)) {
            return "(no JVM log)";
        }
        java.util.regex.Pattern total = java.util.regex.Pattern.compile("Total: (\\d+) ns");
        StringBuilder out = new StringBuilder("snoop JVM stops of " + minMillis + " ms or more, and collections:\n");
        for (String line : Files.readAllLines(log)) {
            java.util.regex.Matcher m = total.matcher(line);
            boolean longStop = m.find() && Long.parseLong(m.group(1)) >= minMillis * 1_000_000L;
            if (longStop || line.contains(" GC(") && line.contains(" Pause ")) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    Path buffer() {
        return dir.resolve("buffer");
    }

    Path replica(String volume) {
        return dir.resolve("remote").resolve(volume).resolve("replica.img");
    }

    TaplineProcess snoop() {
        return snoop;
    }

    /**
     * Waits until the replica of {@code volume} exists and equals {@code expected} (md5) with every
     * captured record acknowledged; fails with the logs after {@code timeout}. Polling both: the
     * snoop may still be appending the writer's last commands when the buffer first looks synced.
     */
    void awaitReplicaEquals(String volume, Path expected, Duration timeout) throws IOException, InterruptedException {
        awaitReplicaEquals(volume, expected, timeout, false);
    }

    /** The same; {@code healed}: gaps were expected and healed (a resync), so they are not checked. */
    void awaitReplicaEquals(String volume, Path expected, Duration timeout, boolean healed)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String want = Peers.md5(expected);
        String last = "(no replica)";
        Peers.Result status = null;
        while (System.nanoTime() < deadline) {
            status = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", buffer().toString(),
                    "--wait-synced", "20");
            Path replica = replica(volume);
            if (status.exitCode() == 0 && Files.exists(replica)) {
                last = Peers.md5(replica);
                if (last.equals(want)) {
                    if (!healed) {
                        assertNoGaps(volume);
                    }
                    return;
                }
            }
            if (!snoop.isAlive()) {
                break;
            }
        }
        throw new AssertionError("replica " + replica(volume) + " md5 " + last + " != " + expected + " md5 " + want
                + "\n--- status:\n" + (status == null ? "" : status.output()) + "\n--- snoop log:\n" + snoop.logText()
                + "\n--- replayer log:\n" + replayer.logText());
    }

    /**
     * The volume's buffer holds no GAP record and no lost write (the capture saw everything), and
     * status shows the running snoop's link to the replayer as connected (from link-status.json).
     */
    void assertNoGaps(String volume) throws IOException, InterruptedException {
        String json = TaplineProcess.run(Duration.ofSeconds(60), "status", "--buffer", buffer().toString(),
                "--volume", volume, "--json").orFail("status --json").output();
        var v = io.tapline.tools.cli.Json.mapper().readTree(json).get("volumes").get(0);
        if (v.get("gapRecords").asLong() != 0 || v.get("lostWrites").asLong() != 0) {
            throw new AssertionError("capture of " + volume + " has gaps: " + json + "\n--- snoop log:\n" + snoop.logText());
        }
        var remote = v.get("remotes").get(0);
        if (remote == null || !remote.get("sourceRunning").asBoolean() || !remote.get("connected").asBoolean()) {
            throw new AssertionError("status does not show the snoop's link as connected: " + json);
        }
    }

    @Override
    public void close() throws InterruptedException, IOException {
        for (String[] cmd : stopCommands) {
            Peers.run(Duration.ofSeconds(30), cmd);
        }
        for (int i = peers.size() - 1; i >= 0; i--) {
            Process p = peers.get(i);
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
            }
        }
        for (Path pidFile : pidFiles) {
            if (Files.exists(pidFile)) {
                long pid = Long.parseLong(Files.readString(pidFile).trim());
                var handle = ProcessHandle.of(pid);
                if (handle.isPresent()) {
                    handle.get().destroy();
                    handle.get().onExit().orTimeout(15, TimeUnit.SECONDS).exceptionally(t -> null).join();
                    if (handle.get().isAlive()) {
                        handle.get().destroyForcibly();
                    }
                }
            }
        }
        if (snoop != null) {
            snoop.close();
        }
        if (replayer != null) {
            replayer.close();
        }
    }
}
