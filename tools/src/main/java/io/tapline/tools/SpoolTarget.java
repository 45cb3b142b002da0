package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.SecondsConverter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options of a command that asks a running wedge for work through its request spool and
 * follows it: which buffer and volume, why, and how long to wait (a picocli mixin).
 */
final class SpoolTarget {
    @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The wedge's buffer directory.")
    Path buffer;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume (export name).")
    String volume;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "operator request",
            description = "Why, recorded in the resync records and the replica's audit log (default: ${DEFAULT-VALUE}).")
    String reason;

    @Option(names = "--timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "3600",
            description = "Give up waiting after this long (default: ${DEFAULT-VALUE}); the work itself goes on.")
    int timeoutSeconds;

    /** Checks the options; the deadline of the wait ({@link System#nanoTime} scale). */
    long deadlineNanos() throws CliFailure {
        if (timeoutSeconds < 1) {
            throw new CliFailure("--timeout: " + timeoutSeconds + " (expected: >= 1 second)", 2);
        }
        if (reason.contains("\n")) {
            throw new CliFailure("--reason: contains a line break (expected: one line)", 2);
        }
        return System.nanoTime() + timeoutSeconds * 1_000_000_000L;
    }

    /**
     * Drops a {@code .resync} request of {@code kind} (first line) with the reason (after
     * {@code reasonPrefix}), waits up to
     * 15 s for the wedge to take it, and returns the number it answered with.
     *
     * @param what names the command in errors, e.g. {@code "resync"}
     */
    long submitAndAwait(String what, String kind, String reasonPrefix) throws java.io.IOException, InterruptedException {
        Path requests = SpoolClient.requests(buffer, volume);
        String id = SpoolClient.submit(requests, RequestSpool.SUFFIX, kind + "\n" + reasonPrefix + reason + "\n");
        Path accepted = SpoolClient.await(requests, id, RequestSpool.SUFFIX, System.nanoTime() + 15_000_000_000L,
                what + " " + volume + ": no running wedge picked the request up within 15 s", () -> { }, ".accepted",
                ".failed");
        if (accepted.getFileName().toString().endsWith(".failed")) {
            throw new CliFailure(what + " " + volume + ": " + SpoolClient.take(accepted));
        }
        return Long.parseLong(SpoolClient.take(accepted));
    }

    /** The volume's folder in the buffer (a wedge node's promoted volume's too: {@link SpoolClient#volumeDir}). */
    Path volumeDir() {
        return SpoolClient.volumeDir(buffer, volume);
    }
}
