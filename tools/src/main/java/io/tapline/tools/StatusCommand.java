package io.tapline.tools;

import io.tapline.log.buffer.BufferStatus;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.SecondsConverter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code tapline status}: the figures of a source's capture buffer, read from its files (the
 * source process may be running or not): captured, shipped, acknowledged (= durably applied on
 * the replayer), mode, lost writes, gaps, tracked chunks, and per remote the replica's state as
 * its replayer last reported it (consistent, behind, out-of-sync, resyncing, failed, refused,
 * unknown). "Synced" is never more optimistic than the truth: it needs at least one remote, every
 * remote consistent and with every captured record, the buffer in DATA mode with nothing tracked,
 * and no resync running (a volume no remote replicates is not synced: it has no copy).
 * {@code --wait-synced} polls until then and otherwise exits 1 naming each state.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows a capture buffer's state per volume: captured / shipped / acked (applied), mode, gaps.")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** Why a volume that no remote replicates is not synced (a capture-only source, or one given no {@code --remote}). */
    static final String NO_REMOTE = "no remote: nothing replicates this volume (capture only)";
    static final String STARTING = "the source is starting: it has not registered its remotes yet";

    /** Why a buffer directory holding no volume yet is not synced. */
    static final String NO_VOLUME = "no volume in this buffer directory: no source has captured into it yet";

    /** Every capture buffer volume folder has one ({@code io.tapline.log.buffer.BufferState}). */
    private static final String STATE_FILE = CaptureBuffer.STATE_FILE;

    @Option(names = "--buffer", paramLabel = "DIR", description = "The source's buffer directory.")
    Path buffer;

    @Option(names = "--data", paramLabel = "DIR",
            description = "A replayer's data directory instead: each replica's role, generation and state.")
    Path data;

    @Option(names = "--volume", paramLabel = "ID", description = "Only this volume (default: all volumes in the buffer).")
    String volume;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Option(names = "--wait-synced", paramLabel = "SECONDS", converter = SecondsConverter.class,
            description = "Wait until every remote has acknowledged every captured record; exit 1 if that takes longer.")
    Integer waitSyncedSeconds;

    @Option(names = "--read-timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "10",
            description = "Exit 1 when the status files are not read within this long: their disk may have stopped"
                    + " answering (default: ${DEFAULT-VALUE}).")
    int readTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if ((buffer == null) == (data == null)) {
            throw new CliFailure("--buffer or --data: " + (buffer == null ? "neither" : "both")
                    + " given (expected: exactly one)", 2);
        }
        if (data != null) {
            if (waitSyncedSeconds != null) {
                throw new CliFailure("--wait-synced: not with --data (expected: --buffer, the source side)", 2);
            }
            Map<String, Object> report = new BoundedReader<>("status-read", () -> ReplicaStatusReport.of(data, volume))
                    .getOrFail(readTimeout(), "data directory " + data);
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? Json.write(report) : ReplicaStatusReport.human(report));
            out.flush();
            return 0;
        }
        if (!Files.isDirectory(buffer)) {
            throw new CliFailure("buffer: " + buffer + " (expected: an existing buffer directory)");
        }
        if (waitSyncedSeconds != null && waitSyncedSeconds < 0) {
            throw new CliFailure("--wait-synced: " + waitSyncedSeconds + " (expected: >= 0 seconds)", 2);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(waitSyncedSeconds == null ? 0 : waitSyncedSeconds).toNanos();
        // A live snoop: what it had seen when we started must be decoded before "synced" can hold.
        askedAtMillis = System.currentTimeMillis();
        String what = "buffer directory " + buffer;
        BoundedReader<Map<String, Object>> snapshots = new BoundedReader<>("status-read", this::snapshot);
        Map<String, Object> report = snapshots.getOrFail(readTimeout(), what);
        while (waitSyncedSeconds != null && !(Boolean) report.get("synced") && System.nanoTime() < deadline) {
            Thread.sleep(200); // polling another process's files: there is nothing to wait on
            report = snapshots.getOrFail(readTimeout(), what);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.write(report) : human(report));
        out.flush();
        if (waitSyncedSeconds != null && !(Boolean) report.get("synced")) {
            throw new CliFailure("not synced after " + waitSyncedSeconds + " s: " + behindSummary(report));
        }
        return 0;
    }

    private Duration readTimeout() {
        if (readTimeoutSeconds < 1) {
            throw new CliFailure("--read-timeout: " + readTimeoutSeconds + " (expected: >= 1 second)", 2);
        }
        return Duration.ofSeconds(readTimeoutSeconds);
    }

    /** The report {@code status --buffer DIR --json} prints, for the status page. */
    static Map<String, Object> sourceReport(Path buffer) throws IOException {
        StatusCommand c = new StatusCommand();
        c.buffer = buffer;
        return c.snapshot();
    }

    /** Whether a live snoop runs on this buffer: it opens a volume again only once its traffic shows. */
    private boolean liveSnoop;

    /** When this command started: a live snoop must have decoded everything captured before it. */
    private long askedAtMillis = System.currentTimeMillis();

    private Map<String, Object> snapshot() throws IOException {
        List<Map<String, Object>> volumes = new ArrayList<>();
        boolean synced = true;
        CaptureStatusFile snoop = CaptureStatusFile.read(buffer);
        liveSnoop = snoop != null && snoop.running() && StampAge.fresh(snoop.updatedAtMillis(),
                System.currentTimeMillis(), CaptureStatusFile.FRESH_MILLIS);
        for (Path dir : volumeDirs()) {
            BufferStatus s = CaptureBuffer.readStatus(dir);
            Map<String, Object> v = volumeReport(dir, s);
            synced &= (Boolean) v.get("synced");
            volumes.add(v);
        }
        if (volume != null && volumes.isEmpty()) {
            throw new CliFailure("volume: " + volume + " (expected: a volume in " + buffer + ")");
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("buffer", buffer.toAbsolutePath().toString());
        CaptureStatusFile capture = CaptureStatusFile.read(buffer);
        if (capture != null && capture.running()) {
            boolean fresh = StampAge.fresh(capture.updatedAtMillis(), System.currentTimeMillis(),
                    CaptureStatusFile.FRESH_MILLIS);
            boolean caughtUp = fresh && capture.decodedEverythingUpTo(askedAtMillis);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("packetsDecoded", capture.packetsDecoded());
            c.put("lastPacket", capture.lastPacketMillis() == 0 ? null
                    : java.time.Instant.ofEpochMilli(capture.lastPacketMillis()).toString());
            // Idle since the last delivery as of now (a capture that stopped writing its file keeps
            // growing idle, not a frozen figure); null before the first delivery.
            c.put("idleMillis", capture.lastDeliveryMillis() <= 0 ? null
                    : Math.max(0, System.currentTimeMillis() - capture.lastDeliveryMillis()));
            c.put("drops", capture.drops());
            c.put("caughtUp", caughtUp);
            c.put("fresh", fresh);
            report.put("capture", c);
            synced &= caughtUp;
        }
        if (volumes.isEmpty()) { // nothing captured here yet: no copy of anything can be vouched for
            synced = false;
            report.put("notSyncedBecause", List.of(NO_VOLUME));
        }
        report.put("synced", synced);
        report.put("volumes", volumes);
        return report;
    }

    private Map<String, Object> volumeReport(Path dir, BufferStatus s) throws IOException {
        Map<String, LinkStatusFile.Link> links = new LinkedHashMap<>();
        for (LinkStatusFile.Link link : LinkStatusFile.read(dir)) {
            links.put(link.remote(), link);
        }
        long now = System.currentTimeMillis();
        List<Map<String, Object>> remotes = new ArrayList<>();
        boolean remotesSynced = true;
        boolean powerCutCoversEach = true;
        for (Map.Entry<String, Long> e : s.acknowledged().entrySet()) {
            Map<String, Object> r = new LinkedHashMap<>();
            LinkStatusFile.Link link = links.get(e.getKey());
            boolean fresh = link != null && StampAge.fresh(link.updatedAtMillis(), now, LinkStatusFile.FRESH_MILLIS);
            String lastError = link == null || link.lastError() == null || link.lastError().isBlank() ? null
                    : link.lastError();
            ReplicaView replica = ReplicaView.of(link, lastError, e.getValue(), s.lastSequence(), fresh);
            if (link == null && liveSnoop && io.tapline.log.ExclusiveLock.holder(
                    dir.resolve(CaptureBuffer.LOCK_FILE)) == io.tapline.log.ExclusiveLock.NOBODY) {
                // Not a remote taken off the configuration: the snoop has not met this volume since it started.
                replica = new ReplicaView(replica.state(), "the running snoop has not seen this volume on the wire"
                        + " since it started: it ships it again once its traffic shows (its first record then is a"
                        + " whole-volume GAP, resynced)", replica.applied());
            }
            r.put("remote", e.getKey());
            r.put("address", link == null ? null : link.address());
            r.put("replica", replica.state());
            r.put("replicaReason", replica.reason());
            r.put("acked", e.getValue());
            // A replica that never reported has applied nothing anyone knows of: the cursor of a remote
            // added to a trimmed buffer starts at its first record, which is no replica's figure (probe Q D4).
            boolean neverReported = (link == null || link.replicaState() == null)
                    && !replica.state().equals("refused") && !replica.state().equals("fenced");
            r.put("applied", neverReported ? null : replica.applied());
            r.put("consistentSequence", link == null || link.replicaState() == null ? null
                    : link.replicaConsistentSequence());
            r.put("shipped", link == null || neverReported && link.shippedSequence() == 0 ? null
                    : Math.max(link.shippedSequence(), e.getValue()));
            r.put("connected", fresh && link.connected());
            r.put("replicaUnappliedForMillis", fresh && link.connected() ? link.replicaUnappliedForMillis() : null);
            r.put("sourceRunning", fresh);
            r.put("lastError", lastError);
            String released = s.released().get(e.getKey());
            r.put("released", released);
            remotesSynced &= replica.state().equals(ReplicaView.CONSISTENT) && released == null;
            powerCutCoversEach &= link != null && PowerCutCoverage.covers(s.powerCutCoveredFrom(), link.replicaState(),
                    link.replicaState() == null ? null : link.replicaConsistentSequence());
            remotes.add(r);
        }
        SourceStatusFile source = SourceStatusFile.read(dir);
        boolean resyncRunning = source != null && source.resync() != null
                && source.resync().state().equals("resyncing");
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("volume", s.volumeId());
        v.put("mode", s.mode().name());
        v.put("durability", s.durability());
        v.put("crashCompareBytes", s.crashCompareBytes());
        if (BufferStatus.WRITE_ONCE.equals(s.durability())) {
            v.put("powerCutCoveredFrom", s.powerCutCoveredFrom());
            v.put("powerCutCoversEveryRemote", s.powerCutCoversEveryRemote() && powerCutCoversEach);
        }
        v.put("captured", s.lastSequence());
        v.put("firstRetained", s.firstSequence());
        v.put("retainedBytes", s.retainedBytes());
        v.put("highWaterBytes", s.highWaterBytes());
        v.put("maxBytes", s.maxBytes());
        v.put("lostWrites", s.lostWrites());
        v.put("gapRecords", s.gapRecords());
        long unackedAge = s.oldestUnackedTimeNanos() == 0 ? 0
                : StampAge.ageMillis(s.oldestUnackedTimeNanos() / 1_000_000, now);
        // A capture time ahead of the clock: the clock stepped back since the write was captured. Its age is not
        // known (null), not 0: 0 read as "nothing waits" while records did (probe Y D3).
        v.put("oldestUnackedAgeMillis", unackedAge < 0 ? null : unackedAge);
        if (unackedAge < 0) {
            v.put("oldestUnackedCapturedAt", java.time.Instant.ofEpochSecond(0, s.oldestUnackedTimeNanos()).toString());
        }
        v.put("capturePaused", s.capturePaused().isEmpty() ? null : s.capturePaused());
        v.put("trackedChunks", s.trackedChunks());
        v.put("wholeVolumeCause", s.wholeVolumeCause().isEmpty() ? null : s.wholeVolumeCause());
        if (s.trackedChunks() != 0) {
            List<Map<String, Long>> ranges = new ArrayList<>();
            for (long[] r : io.tapline.log.buffer.ChangedChunks.readRanges(dir, 64)) {
                Map<String, Long> m = new LinkedHashMap<>();
                m.put("offset", r[0]);
                m.put("length", r[1]);
                ranges.add(m);
            }
            v.put("trackedRanges", ranges); // the first 64: what a resync must compare (a snoop waits for --source)
        }
        v.put("storageError", source == null || source.storageError() == null || source.storageError().isEmpty()
                ? null : source.storageError());
        v.put("resync", source == null ? null : source.resync());
        v.put("auditError", source == null ? null : source.auditError());
        io.tapline.journey.resync.CycleStatus cycles = source == null ? null : source.cycles();
        if (cycles != null) {
            v.put("mode", "CYCLES");
            v.put("cycles", cyclesJson(cycles, now));
        }
        String notShipping = source == null ? null : source.notShippingBecause();
        v.put("notShippingBecause", notShipping);
        boolean storageOk = v.get("storageError") == null;
        boolean cyclesCopied = cycles == null || (cycles.changedBlocks() == 0 && cycles.frozenCycle() == 0);
        boolean replicated = !remotes.isEmpty();
        v.put("synced", replicated && s.synced() && storageOk && remotesSynced && !resyncRunning && cyclesCopied
                && notShipping == null);
        List<String> why = whyNot(s, storageOk, remotes, resyncRunning);
        if (notShipping != null) {
            why.add(notShipping);
        } else if (!replicated) {
            // A wedge in its first second has its buffer (and lock) but not yet its remotes' cursors.
            why.add(source == null && io.tapline.log.buffer.CaptureBuffer.runningWriter(dir) > 0 ? STARTING : NO_REMOTE);
        }
        if (cycles != null && cycles.frozenCycle() != 0) {
            why.add("cycle " + cycles.frozenCycle() + " frozen, copying");
        }
        if (cycles != null && cycles.changedBlocks() != 0) {
            why.add("cycle " + cycles.activeCycle() + ": " + cycles.changedBlocks() + " blocks written since the last freeze");
        }
        v.put("notSyncedBecause", why);
        v.put("remotes", remotes);
        return v;
    }

    /** "N chunks" or "whole volume (CAUSE)": what a resync of the changed-chunk set would compare. */
    static String tracked(long chunks, String cause) {
        return chunks >= 0 ? chunks + " chunks"
                : "whole volume" + (cause == null || cause.isEmpty() ? "" : " (" + cause + ")");
    }

    /** {@link #tracked} in the text report's column: the bare count for chunks. */
    private static String trackedText(long chunks, String cause) {
        return chunks >= 0 ? Long.toString(chunks) : tracked(chunks, cause);
    }

    private static List<String> whyNot(BufferStatus s, boolean storageOk, List<Map<String, Object>> remotes,
            boolean resyncRunning) {
        List<String> why = new ArrayList<>();
        if (s.mode() == io.tapline.log.buffer.BufferMode.FULL) {
            why.add("buffer FULL (tracking changed chunks)");
        }
        if (s.lostWrites() > 0) {
            why.add(s.lostWrites() + " writes not captured");
        }
        if (s.trackedChunks() != 0) {
            why.add(tracked(s.trackedChunks(), s.wholeVolumeCause()) + " awaiting resync");
        }
        if (!storageOk) {
            why.add("buffer storage error");
        }
        if (!s.capturePaused().isEmpty()) {
            why.add("capture " + s.capturePaused());
        }
        if (resyncRunning) {
            why.add("resync running");
        }
        for (Map<String, Object> r : remotes) {
            if (!ReplicaView.CONSISTENT.equals(r.get("replica"))) {
                why.add("remote " + (r.get("address") != null ? r.get("address") : r.get("remote")) + " replica "
                        + r.get("replica") + (r.get("replicaReason") == null ? "" : " (" + r.get("replicaReason") + ")"));
            }
            if (r.get("released") != null) {
                why.add("remote " + (r.get("address") != null ? r.get("address") : r.get("remote")) + " "
                        + r.get("released"));
            }
        }
        return why;
    }

    /** The volume folders of the buffer: those holding a {@code buffer.state} (docs/formats.md). */
    private List<Path> volumeDirs() throws IOException {
        if (volume != null) {
            Path dir = SpoolClient.volumeDir(buffer, volume);
            return Files.isRegularFile(dir.resolve(STATE_FILE)) ? List.of(dir) : List.of();
        }
        List<Path> dirs;
        boolean empty;
        try (Stream<Path> entries = Files.list(buffer)) {
            List<Path> all = entries.sorted().toList();
            empty = all.isEmpty();
            dirs = new ArrayList<>(all.stream().filter(d -> Files.isRegularFile(d.resolve(STATE_FILE))).toList());
        }
        // A wedge node serving its volume promoted back to it (a switchover there and back) keeps that
        // buffer under node/: the node's --buffer shows it as before.
        dirs.addAll(SpoolClient.promotedVolumeDirs(buffer));
        if (dirs.isEmpty() && !empty) {
            Path node = buffer.resolve(WedgeCommand.NODE_DATA);
            if (Files.isDirectory(node)) {
                // A wedge node whose volumes are all secondaries here now (demoted, a switchover away, or
                // superseded): its buffer holds none, its node data does (probe s62 AE D5: read as a wrong path).
                throw new CliFailure("--buffer: " + buffer + " is a wedge node's folder whose volumes are secondaries"
                        + " on this node now (demoted, switched over to another node, or superseded): no volume"
                        + " captures here; see tapline status --data " + node);
            }
            throw new CliFailure("--buffer: " + buffer + " (expected: a capture buffer directory, one folder per volume"
                    + " holding " + STATE_FILE + ")");
        }
        return dirs;
    }

    @SuppressWarnings("unchecked")
    private static String human(Map<String, Object> report) {
        StringBuilder sb = new StringBuilder();
        sb.append("buffer ").append(report.get("buffer")).append(": ")
                .append((Boolean) report.get("synced") ? "synced" : "not synced").append('\n');
        Map<String, Object> capture = (Map<String, Object>) report.get("capture");
        if (capture != null) {
            sb.append(String.format("live capture: decoded %s packets, last captured %s, %s, dropped %s%s%n",
                    capture.get("packetsDecoded"), capture.get("lastPacket") == null ? "never"
                            : capture.get("lastPacket"), capture.get("idleMillis") == null ? "nothing delivered yet"
                            : "idle " + capture.get("idleMillis") + " ms", capture.get("drops"),
                    !(Boolean) capture.get("fresh") ? " (its status file is stale: the snoop is not running?)"
                            : (Boolean) capture.get("caughtUp") ? "" : " (catching up)"));
        }
        if (report.get("notSyncedBecause") != null) {
            sb.append("  not synced: ").append(String.join("; ", (List<String>) report.get("notSyncedBecause")))
                    .append('\n');
        }
        for (Map<String, Object> v : (List<Map<String, Object>>) report.get("volumes")) {
            sb.append(String.format("volume %s  mode %s  captured %d  retained %d bytes (high water %d, max %d)"
                            + "  lost writes %d  gaps %d  tracked chunks %s%n",
                    v.get("volume"), v.get("mode"), v.get("captured"), v.get("retainedBytes"),
                    v.get("highWaterBytes"), v.get("maxBytes"), v.get("lostWrites"), v.get("gapRecords"),
                    trackedText((Long) v.get("trackedChunks"), (String) v.get("wholeVolumeCause"))));
            long crashCompare = (Long) v.get("crashCompareBytes");
            String afterCrash = crashCompare < 0 ? "every chunk (no activity log)"
                    : (crashCompare >> 20) + " MiB (the activity log's hot extents)";
            if (BufferStatus.WRITE_ONCE.equals(v.get("durability"))) {
                long coveredFrom = (Long) v.get("powerCutCoveredFrom");
                sb.append("  write-once buffer: records are not forced; a power cut may lose unshipped ones (a resync"
                        + " then heals each replica); after a crash now a resync would compare " + afterCrash
                        + (crashCompare < 0 || coveredFrom <= 0 ? "" : " with a replica that applied seq " + coveredFrom
                                + ((Boolean) v.get("powerCutCoversEveryRemote") ? " (every remote has)"
                                        : " (not every remote has: those compare every chunk)")) + "\n");
            } else {
                sb.append("  after a crash now a resync would compare ").append(afterCrash).append('\n');
            }
            if (v.get("storageError") != null) {
                sb.append("  buffer storage error: ").append(v.get("storageError")).append('\n');
            }
            if (v.get("auditError") != null) {
                sb.append("  the source's audit log is not written (until the source restarts): ")
                        .append(v.get("auditError")).append('\n');
            }
            if (v.get("oldestUnackedAgeMillis") == null) {
                sb.append(String.format("  oldest write not yet acknowledged by every remote: captured at %s, later than"
                        + " this host's clock now reads (it stepped back since): its age is not known%n",
                        v.get("oldestUnackedCapturedAt")));
            }
            long unackedMillis = v.get("oldestUnackedAgeMillis") instanceof Number n ? n.longValue() : 0;
            if (unackedMillis >= 1000) {
                // How long the replicas have been missing a write, in the words an operator reads
                // (the JSON carries the same figure): a replayer that hangs keeps its link, and this grows.
                sb.append(String.format("  oldest write not yet acknowledged by every remote: captured %d s ago%n",
                        unackedMillis / 1000));
            }
            if (v.get("cycles") instanceof Map<?, ?> c) {
                Object lastCopied = c.get("lastCopiedCycle");
                // Before the first copy of this run there is no image age or copy time to name (not "age null ms").
                String copied = isZero(lastCopied)
                        ? "no cycle copied since the source started"
                        : String.format("last copied cycle %s (replica image age %s ms, copy took %s ms)", lastCopied,
                                c.get("replicaImageAgeMillis"), c.get("lastCopyMillis"));
                sb.append(String.format("  cycles every %s s: cycle %s taking writes (%s blocks), frozen %s, %s%n",
                        c.get("cycleSeconds"), c.get("activeCycle"), c.get("changedBlocks"),
                        isZero(c.get("frozenCycle")) ? "none" : "cycle " + c.get("frozenCycle"), copied));
            }
            Object resync = v.get("resync");
            if (resync instanceof io.tapline.journey.resync.ResyncStatus rs && !rs.state().equals("idle")) {
                sb.append(String.format("  resync %s %s: %s%n", rs.state(), rs.detail(), rs.progressText()));
            }
            for (Map<String, Object> r : (List<Map<String, Object>>) v.get("remotes")) {
                sb.append(String.format("  remote %-22s %-12s replica %-11s shipped %s  acked %s  applied %s%s%s%n",
                        r.get("address") != null ? r.get("address") : r.get("remote"),
                        (Boolean) r.get("connected") ? "connected" : "disconnected", r.get("replica"),
                        r.get("shipped") == null ? "-" : r.get("shipped"), r.get("acked"),
                        r.get("applied") == null ? "-" : r.get("applied"),
                        r.get("replicaReason") == null ? "" : "  (" + r.get("replicaReason") + ")",
                        r.get("lastError") == null ? "" : "  last error: " + r.get("lastError")));
            }
            List<String> why = (List<String>) v.get("notSyncedBecause");
            if (!why.isEmpty()) {
                sb.append("  not synced: ").append(String.join("; ", why)).append('\n');
            }
        }
        return sb.toString().stripTrailing();
    }

    @SuppressWarnings("unchecked")
    private static String behindSummary(Map<String, Object> report) {
        List<String> parts = new ArrayList<>();
        Map<String, Object> capture = (Map<String, Object>) report.get("capture");
        if (capture != null && !(Boolean) capture.get("caughtUp")) {
            parts.add("live capture has not yet decoded every packet captured before this command started (last "
                    + "decoded packet captured at " + capture.get("lastPacket") + ")");
        }
        if (report.get("notSyncedBecause") != null) {
            parts.addAll((List<String>) report.get("notSyncedBecause"));
        }
        for (Map<String, Object> v : (List<Map<String, Object>>) report.get("volumes")) {
            if (!(Boolean) v.get("synced")) {
                parts.add("volume " + v.get("volume") + ": " + String.join("; ", (List<String>) v.get("notSyncedBecause")));
            }
        }
        return String.join("; ", parts);
    }

    /** A JSON-converted number is an Integer or a Long: both zero and absent count as none. */
    private static boolean isZero(Object number) {
        return number == null || number instanceof Number n && n.longValue() == 0;
    }

    /** A cycle-mode volume's status as {@code status --json} and {@code cycle now --json} print it. */
    static Map<String, Object> cyclesJson(io.tapline.journey.resync.CycleStatus cycles, long now) {
        Map<String, Object> c = Json.mapper().convertValue(cycles, LinkedHashMap.class);
        c.put("frozenAgeMillis", cycles.frozenAtMillis() == 0 ? null : Math.max(0, now - cycles.frozenAtMillis()));
        // The achieved RPO: how old the image the replicas hold is, while the host has written since.
        long age = cycles.imageAgeMillis(now);
        c.put("replicaImageAgeMillis", age < 0 ? null : age);
        return c;
    }
}
