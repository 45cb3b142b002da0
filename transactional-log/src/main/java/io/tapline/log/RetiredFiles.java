package io.tapline.log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files a log takes out of use at once and deletes later, off the path someone waits on.
 *
 * <p>A log retires a file by renaming it to its name plus {@link #SUFFIX} (atomic; the owner then
 * makes the directory durable, so after a crash the file is either still the owner's or retired);
 * the owner's directory listing ignores retired names, and deletes any it finds when it opens.
 * The deletion itself runs later on a thread of its own ({@link #deleteLater}).
 *
 * <p>Why: on ext4 mounted with {@code discard} (this project's machine, and common on cloud
 * volumes and SSDs) the unlink of a large file discards its blocks before it returns: 22-24 ms per
 * 64 MiB segment measured here (the directory sync after it then costs little), against 0.4 ms for
 * a rename and a directory sync (docs/benchmarks.md#retired-undo-segments). A rollback of 1 GiB
 * deleted 16 segments while the operator waited; the capture buffer deleted acknowledged segments
 * while every append waited for its lock. Deleting elsewhere does not make the discards free: they
 * still occupy the disk, so it pays where the owner waits and the disk has room (a rolled-back
 * volume is paused; a buffer's appends are mostly CPU), not where the disk is the limit (undo
 * retention during an apply: measured, no gain).
 *
 * <p>Thread-safe (stateless).
 */
public final class RetiredFiles {
    private static final Logger LOG = LoggerFactory.getLogger(RetiredFiles.class);
    /** Appended to a retired file's name. */
    public static final String SUFFIX = ".retired";

    private RetiredFiles() {
    }

    /**
     * Renames {@code file} to its retired name and returns that; the caller makes the directory
     * durable ({@link DurableFiles#syncDirectory}) before it relies on the file being gone.
     */
    public static Path retire(Path file) throws IOException {
        Path retired = file.resolveSibling(file.getFileName() + SUFFIX);
        Files.move(file, retired, StandardCopyOption.ATOMIC_MOVE);
        return retired;
    }

    /** Whether {@code file}'s name is a retired one. */
    public static boolean isRetired(Path file) {
        return file.getFileName().toString().endsWith(SUFFIX);
    }

    /**
     * Deletes every retired file in {@code dir} (those a crash or an exit left before their
     * deletion) and returns how many; the caller syncs the directory when it needs them gone for good.
     */
    public static int deleteLeftovers(Path dir) throws IOException {
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s.filter(RetiredFiles::isRetired)::iterator) {
                if (Files.deleteIfExists(p)) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Deletes {@code files} (retired ones) now, on the caller's thread; one already gone is skipped. */
    public static void delete(List<Path> files) throws IOException {
        for (Path p : files) {
            Files.deleteIfExists(p);
        }
    }

    /**
     * Deletes {@code files} (retired ones) on a daemon thread named {@code threadName}, then syncs
     * their directory. The future completes when they are gone (exceptionally when a deletion
     * failed; what is left is deleted when the owner next opens). An empty list completes at once.
     */
    public static CompletableFuture<Void> deleteLater(Path dir, List<Path> files, String threadName) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (files.isEmpty()) {
            done.complete(null);
            return done;
        }
        List<Path> todo = List.copyOf(files);
        Thread t = new Thread(() -> {
            try {
                delete(todo);
                DurableFiles.syncDirectory(dir);
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                LOG.warn("retired files not deleted yet (deleted when the log next opens) dir={} files={}: {}", dir,
                        todo.size(), e.toString());
                done.completeExceptionally(e);
            }
        }, threadName);
        t.setDaemon(true);
        t.start();
        return done;
    }
}
