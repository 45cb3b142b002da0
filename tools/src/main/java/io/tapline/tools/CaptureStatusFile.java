package io.tapline.tools;

import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code capture-status.json} at the root of a live snoop's buffer: packets the kernel passed to
 * the capture and packets the agent decoded, rewritten every 200 ms, so that
 * {@code tapline status --wait-synced} can wait for what the agent had seen when it started, not
 * only for what it had decoded. Advisory (temp file + rename, no fsync).
 *
 * @param kernelReceived   packets the kernel's filter passed (pcap statistics)
 * @param packetsDecoded   packets the agent has processed (their writes are in the buffer)
 * @param drops            packets the kernel or interface dropped
 * @param running          false once the snoop stopped
 * @param updatedAtMillis  when it was written
 */
public record CaptureStatusFile(long kernelReceived, long packetsDecoded, long drops, boolean running,
        long updatedAtMillis) {
    /** File name at the buffer's root. */
    public static final String NAME = "capture-status.json";
    /** Older than this: the snoop is gone or stuck. */
    public static final long FRESH_MILLIS = 5_000;

    /** Packets seen but not yet decoded. */
    public long backlog() {
        return Math.max(0, kernelReceived - packetsDecoded);
    }

    public void write(Path bufferRoot) throws IOException {
        Path tmp = bufferRoot.resolve(NAME + ".tmp");
        Files.writeString(tmp, Json.write(this));
        Files.move(tmp, bufferRoot.resolve(NAME), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The file of {@code bufferRoot}, or null when there is none. */
    public static CaptureStatusFile read(Path bufferRoot) throws IOException {
        try {
            return Json.mapper().readValue(bufferRoot.resolve(NAME).toFile(), CaptureStatusFile.class);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return null;
        }
    }
}
