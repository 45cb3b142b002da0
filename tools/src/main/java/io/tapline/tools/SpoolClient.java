package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * The CLI's side of the request spool ({@code <buffer>/<volume>/requests/}): a command writes a
 * request file (temp name, then rename), and the running source process answers with a file named
 * after the request's id. Used by {@code mark}, {@code resync}, {@code verify}, {@code capture}
 * and {@code ship}. Stateless.
 */
final class SpoolClient {
    /** How often another process's answer is looked for: it writes a file, there is nothing to wait on. */
    private static final long POLL_MILLIS = 50;

    private SpoolClient() {
    }

    /** The volume's request directory, or a one-line failure when no source process runs for it. */
    static Path requests(Path buffer, String volume) throws CliFailure {
        Path dir = volumeDir(buffer, volume).resolve(io.tapline.journey.source.MarkSpool.DIR);
        if (!Files.isDirectory(dir)) {
            throw new CliFailure("volume " + volume + ": no " + dir + " (expected: a running wedge for this volume)");
        }
        checkSourceRuns(dir);
        return dir;
    }

    /**
     * The volume's folder in {@code buffer}: {@code <buffer>/<volume>}, or, when that holds no buffer
     * and a wedge node serves the volume promoted back to it (a switchover there and back),
     * {@code <buffer>/node/<volume>/primary/<volume>}: the operator's {@code --buffer} is still the node's.
     */
    static Path volumeDir(Path buffer, String volume) {
        Path plain = buffer.resolve(volume);
        Path promoted = promotedVolumeDir(buffer, volume);
        return !Files.exists(plain.resolve(io.tapline.log.buffer.CaptureBuffer.STATE_FILE))
                && Files.exists(promoted.resolve(io.tapline.log.buffer.CaptureBuffer.STATE_FILE)) ? promoted : plain;
    }

    /** Where a wedge node keeps the buffer of {@code volume} while it serves it as a promoted replica. */
    static Path promotedVolumeDir(Path buffer, String volume) {
        return buffer.resolve(WedgeCommand.NODE_DATA).resolve(volume).resolve(ReplicaExports.PRIMARY_BUFFER)
                .resolve(volume);
    }

    /** The volume folders of promoted volumes a wedge node keeps under {@code <buffer>/node/} (none when it is no node). */
    static java.util.List<Path> promotedVolumeDirs(Path buffer) throws IOException {
        Path node = buffer.resolve(WedgeCommand.NODE_DATA);
        if (!Files.isDirectory(node)) {
            return java.util.List.of();
        }
        try (java.util.stream.Stream<Path> volumes = Files.list(node)) {
            return volumes.sorted().map(v -> promotedVolumeDir(buffer, v.getFileName().toString()))
                    .filter(d -> Files.isRegularFile(d.resolve(io.tapline.log.buffer.CaptureBuffer.STATE_FILE)))
                    .toList();
        }
    }

    /**
     * Fails at once when no wedge or snoop holds the volume's buffer (its lock, read from
     * {@code /proc/locks} without taking it): nobody would take the request, and waiting out the
     * whole timeout only to say so wasted the operator's time.
     */
    static void checkSourceRuns(Path requests) {
        Path volumeDir = requests.toAbsolutePath().getParent();
        if (!Files.exists(volumeDir.resolve(io.tapline.log.buffer.CaptureBuffer.STATE_FILE))) {
            return; // a replica volume's spool (resolve): the node's replayer takes it, which holds no buffer
        }
        // The lock file's name is a constant (inlined): mark starts without initialising the buffer's class.
        if (io.tapline.log.ExclusiveLock.holder(volumeDir.resolve(io.tapline.log.buffer.CaptureBuffer.LOCK_FILE))
                == io.tapline.log.ExclusiveLock.NOBODY) {
            throw new CliFailure("volume " + volumeDir.getFileName() + ": no wedge or snoop runs on " + volumeDir
                    + " (nothing holds its buffer): start it, then ask again");
        }
    }

    /** Writes request {@code <id><suffix>} holding {@code body}; returns the id. */
    static String submit(Path requests, String suffix, String body) throws IOException {
        String id = UUID.randomUUID().toString();
        AdvisoryFiles.writeText(requests, id + suffix, body);
        return id;
    }

    /**
     * Waits for the first of the answers {@code <id><answer>}, running {@code onPoll} between looks;
     * at {@code deadlineNanos} withdraws the request (if not yet taken) and fails with {@code timeout}.
     */
    static Path await(Path requests, String id, String requestSuffix, long deadlineNanos, String timeout,
            Runnable onPoll, String... answers) throws IOException, InterruptedException {
        int polls = 0;
        while (true) {
            for (String a : answers) {
                Path p = requests.resolve(id + a);
                if (Files.exists(p)) {
                    return p;
                }
            }
            if (System.nanoTime() > deadlineNanos) {
                Files.deleteIfExists(requests.resolve(id + requestSuffix));
                throw new CliFailure(timeout);
            }
            if (++polls % 10 == 0) { // the source stopped meanwhile: its request will never be taken
                try {
                    checkSourceRuns(requests);
                } catch (CliFailure e) {
                    Files.deleteIfExists(requests.resolve(id + requestSuffix));
                    throw e;
                }
            }
            onPoll.run();
            pause();
        }
    }

    /** Reads an answer and deletes it. */
    static String take(Path answer) throws IOException {
        String text = Files.readString(answer, StandardCharsets.UTF_8).trim();
        Files.deleteIfExists(answer);
        return text;
    }

    /** One polling step when following another process's status files. */
    static void pause() throws InterruptedException {
        Thread.sleep(POLL_MILLIS); // another process writes the file; there is no signal to wait on
    }
}
