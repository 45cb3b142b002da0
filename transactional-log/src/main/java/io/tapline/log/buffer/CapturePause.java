package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code capture.paused} in a buffer's volume directory: present while an operator has stopped
 * capture, holding the reason (UTF-8, one line, who and when). Replaced durably (temp + fsync +
 * rename + directory fsync); deleted with a directory fsync. Advisory in content, authoritative
 * in presence. Stateless.
 */
final class CapturePause {
    static final String FILE = "capture.paused";

    private CapturePause() {
    }

    static void write(Path dir, String why) throws IOException {
        DurableFiles.replace(dir.resolve(FILE), why.getBytes(StandardCharsets.UTF_8));
    }

    static void clear(Path dir) throws IOException {
        if (Files.deleteIfExists(dir.resolve(FILE))) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /** The reason, or empty when capture is not paused. */
    static String read(Path dir) throws IOException {
        Path f = dir.resolve(FILE);
        if (!Files.exists(f)) {
            return "";
        }
        String why = Files.readString(f, StandardCharsets.UTF_8).strip();
        return why.isEmpty() ? "paused" : why;
    }
}
