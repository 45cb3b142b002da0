package io.tapline.tools;

import io.tapline.journey.shipper.Shipper;
import io.tapline.journey.source.SourceSide;
import io.tapline.log.DurableFiles;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wedge's side of {@code tapline capture pause|resume} and {@code tapline ship pause|resume}:
 * stop and restart capture (the host's writes go on; changed chunks are tracked and resynced on
 * resume) or shipping to one or every remote, without restarting anything. The CLI drops
 * {@code requests/<id>.capture} ({@code pause|resume}, then the actor) or {@code <id>.ship}
 * ({@code pause|resume}, the remote {@code HOST:PORT} or {@code *}, the actor) or {@code <id>.discard}
 * ({@code tapline buffer discard}: from, to, the actor); the
 * {@link RequestSpool}'s poller hands it here, and this applies it and answers {@code <id>.done}
 * or {@code <id>.failed}. Pauses survive a
 * restart: capture's in the buffer ({@code capture.paused}), shipping's in
 * {@code ship-<remote>.paused} beside it.
 *
 * <p>Threads: the request spool's polling thread.
 */
final class OperatorControls {
    private static final Logger log = LoggerFactory.getLogger(OperatorControls.class);
    static final String CAPTURE_SUFFIX = ".capture";
    static final String SHIP_SUFFIX = ".ship";
    static final String DISCARD_SUFFIX = ".discard";
    static final String CONFIG_SUFFIX = ".config";

    private final Path volumeDir;
    private final Path requests;
    private final CaptureBuffer buffer;
    private final List<Shipper> shippers;
    private volatile io.tapline.journey.resync.ResyncEngine resync;
    private volatile AdminAudit audit = (actor, kind, request) -> request.run();

    /**
     * Where an operator's request, done or refused, is recorded before it is answered (the source's
     * audit log): {@link #recorded} runs it and records its outcome, and nothing the request causes
     * is recorded between the two. A record that fails never undoes or fails the request.
     */
    @FunctionalInterface
    interface AdminAudit {
        /** Runs {@code request} of {@code kind} ({@code capture}, {@code ship}, ...) for {@code actor}; returns what it did. */
        String recorded(String actor, String kind, Request request) throws IOException;
    }

    /** An operator's request: what it did, or an exception saying why it was refused. */
    @FunctionalInterface
    interface Request {
        String run() throws IOException;
    }

    private OperatorControls(Path volumeDir, CaptureBuffer buffer, List<Shipper> shippers) throws IOException {
        this.volumeDir = volumeDir;
        this.requests = Files.createDirectories(volumeDir.resolve(io.tapline.journey.source.MarkSpool.DIR));
        this.buffer = buffer;
        this.shippers = List.copyOf(shippers);
    }

    /**
     * The controls of a volume whose shippers started; requests then arrive through {@link #handle}.
     * (Saved shipping pauses were applied when the shippers started: {@link SourceSide#shipPauseFile}.)
     */
    static OperatorControls start(Path volumeDir, CaptureBuffer buffer, List<Shipper> shippers) throws IOException {
        return new OperatorControls(volumeDir, buffer, shippers);
    }

    /** Records every request, done or refused, in {@code a} before answering it. */
    OperatorControls auditedBy(AdminAudit a) {
        this.audit = java.util.Objects.requireNonNull(a, "a");
        return this;
    }

    /** The resync engine whose rate {@code tapline config set --resync-rate} changes. */
    OperatorControls withResync(io.tapline.journey.resync.ResyncEngine engine) {
        this.resync = engine;
        return this;
    }

    private Path pauseFile(Shipper s) {
        return SourceSide.shipPauseFile(volumeDir, s.cursorId());
    }

    /** Whether {@code fileName} is a request this handles. */
    static boolean handles(String fileName) {
        return fileName.endsWith(CAPTURE_SUFFIX) || fileName.endsWith(SHIP_SUFFIX) || fileName.endsWith(DISCARD_SUFFIX)
                || fileName.endsWith(CONFIG_SUFFIX);
    }

    void handle(Path request) throws IOException {
        String file = request.getFileName().toString();
        String suffix = file.endsWith(CAPTURE_SUFFIX) ? CAPTURE_SUFFIX : file.endsWith(SHIP_SUFFIX) ? SHIP_SUFFIX
                : file.endsWith(CONFIG_SUFFIX) ? CONFIG_SUFFIX : DISCARD_SUFFIX;
        String id = file.substring(0, file.length() - suffix.length());
        List<String> lines = Files.readAllLines(request, StandardCharsets.UTF_8);
        Files.deleteIfExists(request);
        String done;
        try {
            done = audit.recorded(actorOf(suffix, lines), suffix.substring(1), () -> switch (suffix) {
                case CAPTURE_SUFFIX -> capture(lines);
                case SHIP_SUFFIX -> ship(lines);
                case CONFIG_SUFFIX -> config(lines);
                default -> discard(lines);
            });
        } catch (IOException | RuntimeException e) {
            answer(id + ".failed", e.getMessage() == null ? e.toString() : e.getMessage());
            return;
        }
        answer(id + ".done", done);
    }

    /** The actor's line of a request (the CLI writes it; "unknown" when missing). */
    private static String actorOf(String suffix, List<String> lines) {
        int at = switch (suffix) {
            case CAPTURE_SUFFIX -> 1;
            case CONFIG_SUFFIX -> 0;
            default -> 2; // ship: action, remote, actor; discard: from, to, actor
        };
        return lines.size() > at && !lines.get(at).isBlank() ? lines.get(at).strip() : "unknown";
    }

    private String capture(List<String> lines) throws IOException {
        String action = lines.isEmpty() ? "" : lines.get(0).strip();
        String actor = lines.size() > 1 ? lines.get(1).strip() : "unknown";
        switch (action) {
            case "pause" -> buffer.pauseCapture("paused by " + actor + " at " + java.time.Instant.now());
            case "resume" -> buffer.resumeCapture();
            default -> throw new IllegalArgumentException("action: " + action + " (expected: pause or resume)");
        }
        return "capture " + action + "d on volume " + buffer.volumeId();
    }

    private String ship(List<String> lines) throws IOException {
        String action = lines.isEmpty() ? "" : lines.get(0).strip();
        String remote = lines.size() > 1 ? lines.get(1).strip() : "*";
        String actor = lines.size() > 2 ? lines.get(2).strip() : "unknown";
        if (!action.equals("pause") && !action.equals("resume")) {
            throw new IllegalArgumentException("action: " + action + " (expected: pause or resume)");
        }
        int n = 0;
        for (Shipper s : shippers) {
            if (!remote.equals("*") && s != shipperOrNull(remote)) {
                continue;
            }
            n++;
            if (action.equals("pause")) {
                String why = "paused by " + actor + " at " + java.time.Instant.now();
                DurableFiles.replace(pauseFile(s), why.getBytes(StandardCharsets.UTF_8));
                s.pause(why);
            } else {
                if (Files.deleteIfExists(pauseFile(s))) {
                    DurableFiles.syncDirectory(volumeDir);
                }
                s.resume();
            }
        }
        if (n == 0) {
            throw new IllegalArgumentException("--remote: " + remote + " (expected: one of "
                    + shippers.stream().map(s -> s.config().remoteId()).toList() + ")");
        }
        return "shipping " + action + "d to " + n + " remote(s) of volume " + buffer.volumeId();
    }

    /**
     * {@code <id>.config}: the actor, then one setting per line, {@code remote OLD NEW} or
     * {@code resync-rate BYTES}; every line is checked before any is applied, so a bad value
     * changes nothing.
     */
    private String config(List<String> lines) {
        String actor = lines.isEmpty() ? "unknown" : lines.get(0).strip();
        List<Runnable> changes = new java.util.ArrayList<>();
        List<String> done = new java.util.ArrayList<>();
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] f = line.strip().split("\\s+");
            if (f.length == 3 && f[0].equals("remote")) {
                Shipper shipper = shipperFor(f[1]);
                java.net.InetSocketAddress next = new io.tapline.tools.cli.SocketAddressConverter.Peer().convert(f[2]);
                changes.add(() -> shipper.retarget(next));
                done.add("remote " + shipper.config().remoteId() + " now ships to " + f[2]);
            } else if (f.length == 2 && f[0].equals("resync-rate")) {
                long rate = Long.parseLong(f[1]);
                if (rate < 0) {
                    throw new IllegalArgumentException("--resync-rate: " + rate + " (expected: >= 0, 0 = unlimited)");
                }
                io.tapline.journey.resync.ResyncEngine engine = resync;
                if (engine == null) {
                    throw new IllegalStateException("--resync-rate: this source has no resync engine");
                }
                changes.add(() -> engine.rate(rate));
                done.add("resync rate " + (rate == 0 ? "unlimited" : rate + " bytes/s"));
            } else if (!line.isBlank()) {
                throw new IllegalArgumentException("setting: '" + line.strip()
                        + "' (expected: remote OLD NEW, or resync-rate BYTES)");
            }
        }
        if (changes.isEmpty()) {
            throw new IllegalArgumentException("no setting given (expected: --remote OLD=NEW and/or --resync-rate SIZE)");
        }
        changes.forEach(Runnable::run);
        log.warn("configuration changed volume={} actor={}: {}", buffer.volumeId(), actor, done);
        return "volume " + buffer.volumeId() + ": " + String.join("; ", done) + " (running process only: change its"
                + " command line too for the next start)";
    }

    private Shipper shipperFor(String remote) {
        Shipper s = shipperOrNull(remote);
        if (s == null) {
            throw new IllegalArgumentException("--remote: " + remote + " (expected: one of "
                    + shippers.stream().map(x -> x.config().remoteId()).toList() + ")");
        }
        return s;
    }

    /** The shipper named {@code remote} by its configured address or the one it was retargeted to; null if none. */
    private Shipper shipperOrNull(String remote) {
        for (Shipper s : shippers) {
            String target = s.target().getHostString() + ":" + s.target().getPort();
            if (remote.equals(s.config().remoteId()) || remote.equals(target)) {
                return s;
            }
        }
        return null;
    }

    /** {@code <id>.discard}: from, to, actor (one per line). */
    private String discard(List<String> lines) throws IOException {
        if (lines.size() < 2) {
            throw new IllegalArgumentException("discard request: " + lines.size() + " lines (expected: from, to, actor)");
        }
        long from = Long.parseLong(lines.get(0).strip());
        long to = Long.parseLong(lines.get(1).strip());
        String actor = lines.size() > 2 ? lines.get(2).strip() : "unknown";
        try {
            return buffer.discard(from, to, actor);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("discard interrupted", e);
        }
    }

    private void answer(String name, String text) throws IOException {
        AdvisoryFiles.writeText(requests, name, text + "\n");
    }
}
