package io.tapline.tools;

import io.tapline.journey.shipper.Shipper;
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

    private final Path volumeDir;
    private final Path requests;
    private final CaptureBuffer buffer;
    private final List<Shipper> shippers;

    private OperatorControls(Path volumeDir, CaptureBuffer buffer, List<Shipper> shippers) throws IOException {
        this.volumeDir = volumeDir;
        this.requests = Files.createDirectories(volumeDir.resolve(MarkSpool.DIR));
        this.buffer = buffer;
        this.shippers = List.copyOf(shippers);
    }

    /** Re-applies persisted shipping pauses; requests then arrive through {@link #handle}. */
    static OperatorControls start(Path volumeDir, CaptureBuffer buffer, List<Shipper> shippers) throws IOException {
        OperatorControls c = new OperatorControls(volumeDir, buffer, shippers);
        for (Shipper s : shippers) {
            Path f = c.pauseFile(s);
            if (Files.exists(f)) {
                s.pause(Files.readString(f, StandardCharsets.UTF_8).strip());
            }
        }
        return c;
    }

    private Path pauseFile(Shipper s) {
        return volumeDir.resolve("ship-" + s.cursorId() + ".paused");
    }

    /** Whether {@code fileName} is a request this handles. */
    static boolean handles(String fileName) {
        return fileName.endsWith(CAPTURE_SUFFIX) || fileName.endsWith(SHIP_SUFFIX) || fileName.endsWith(DISCARD_SUFFIX);
    }

    void handle(Path request) throws IOException {
        String file = request.getFileName().toString();
        String suffix = file.endsWith(CAPTURE_SUFFIX) ? CAPTURE_SUFFIX : file.endsWith(SHIP_SUFFIX) ? SHIP_SUFFIX
                : DISCARD_SUFFIX;
        String id = file.substring(0, file.length() - suffix.length());
        List<String> lines = Files.readAllLines(request, StandardCharsets.UTF_8);
        Files.deleteIfExists(request);
        try {
            String done = switch (suffix) {
                case CAPTURE_SUFFIX -> capture(lines);
                case SHIP_SUFFIX -> ship(lines);
                default -> discard(lines);
            };
            answer(id + ".done", done);
        } catch (IOException | RuntimeException e) {
            answer(id + ".failed", e.getMessage() == null ? e.toString() : e.getMessage());
        }
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
            if (!remote.equals("*") && !remote.equals(s.config().remoteId())) {
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
