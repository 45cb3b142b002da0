package io.tapline.tools;

import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The small files processes use to tell each other things that are not durable state: status
 * JSON rewritten every few hundred ms and answers to spooled requests. Written to a temp name and
 * renamed, so a reader sees the old or the new content, never a torn one; not fsynced (a crash
 * loses nothing that matters: the writer rewrites them, the CLI asks again). Stateless.
 */
final class AdvisoryFiles {
    private AdvisoryFiles() {
    }

    /** Replaces {@code dir/name} with {@code value} as JSON. */
    static void writeJson(Path dir, String name, Object value) throws IOException {
        writeText(dir, name, Json.write(value));
    }

    /** Replaces {@code dir/name} with {@code text}. */
    static void writeText(Path dir, String name, String text) throws IOException {
        Path tmp = dir.resolve(name + ".tmp");
        try {
            Files.writeString(tmp, text);
        } catch (java.nio.file.FileSystemException e) {
            throw e; // names its file
        } catch (IOException e) {
            // Leave no empty .tmp, and say which file (a full buffer disk left requests/*.tmp and a bare
            // "No space left on device": probe O O9).
            Files.deleteIfExists(tmp);
            throw io.tapline.log.DurableFiles.naming(tmp, e);
        }
        Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The JSON of {@code dir/name} as {@code type}, or null when there is no such file. */
    static <T> T readJson(Path dir, String name, Class<T> type) throws IOException {
        try {
            return Json.mapper().readValue(dir.resolve(name).toFile(), type);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return null;
        }
    }
}
