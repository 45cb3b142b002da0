package io.tapline.replay;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps a volume's rollbacks and its point-in-time images apart, across processes: an image
 * ({@code tapline image}, a rollback's check) holds a shared lock on {@code <dir>/rollback.lock}
 * from before it copies the replica until it has applied the undo records; a rollback holds the
 * exclusive lock from before it writes {@code rollback.intent} until it is done. Each side that
 * finds the other refuses at once, naming it. Undoing a half-applied group when the volume opens
 * (after a crash, or at run time after a failed group) removes undo records too: it takes the
 * exclusive lock as well.
 *
 * <p>Why: an image copies the replica, then applies the undo records above its target. A
 * rollback in between rewrites the replica and removes undo records, so the image would mix two
 * states (the copy from before the rollback, the undo log from after it), and a check before and
 * after cannot see a rollback that started and finished in between.
 *
 * <p>POSIX record locks ({@link FileChannel#tryLock}): released when the process dies, so a crash
 * never leaves the volume locked. Within one JVM a second lock on the file is refused too (Java
 * reports overlapping locks), so two images of one volume in one process do not run at once.
 */
final class RollbackLock implements Closeable {
    static final String FILE = "rollback.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RollbackLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** For a point-in-time image: shared. */
    static RollbackLock forImage(Path volumeDir, String volumeId) throws IOException, RefusedException {
        String busy = "volume " + volumeId + " is being rolled back (or another image of it is being made in this"
                + " process); retry once it is done";
        long deadline = System.nanoTime() + IMAGE_WAIT_MILLIS * 1_000_000L;
        while (true) {
            try {
                return acquire(volumeDir, true, busy);
            } catch (RefusedException e) {
                if (System.nanoTime() >= deadline) {
                    throw e;
                }
                // Polled, not waited on: a POSIX lock offers only "try" or "wait until free", and an
                // image must refuse a rollback (seconds or minutes) at once, while the replayer's
                // probe holds the lock for microseconds. 5 ms steps over 100 ms cost nothing beside
                // an image's copy of the replica.
                try {
                    Thread.sleep(5);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /**
     * How long an image waits for the exclusive lock before it refuses: longer than the
     * replayer's probe ({@link #noImageBeingMade}), far shorter than any rollback.
     */
    static final long IMAGE_WAIT_MILLIS = 100;

    /**
     * Whether no point-in-time image of the volume is being made at this moment, in this process
     * or another: the exclusive lock taken and released at once. An image that starts right after
     * cannot see what the caller is about to reuse (the undo log's spare segment is already out of
     * its listing); one that finds the lock taken for this instant waits for it
     * ({@link #forImage} retries for {@link #IMAGE_WAIT_MILLIS}).
     */
    static boolean noImageBeingMade(Path volumeDir) {
        try (FileChannel ch = FileChannel.open(volumeDir.resolve(FILE), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock(0, Long.MAX_VALUE, false);
            if (l == null) {
                return false;
            }
            l.release();
            return true;
        } catch (OverlappingFileLockException | IOException e) {
            return false;
        }
    }

    /** For a rollback: exclusive. */
    static RollbackLock forRollback(Path volumeDir, String volumeId) throws IOException, RefusedException {
        return acquire(volumeDir, false, "volume " + volumeId + ": a point-in-time image of it is being made (lock "
                + volumeDir.resolve(FILE) + "); retry the rollback once it is done");
    }

    /** For undoing a half-applied group when the volume opens: exclusive. */
    static RollbackLock forRecovery(Path volumeDir, String volumeId) throws IOException, RefusedException {
        return acquire(volumeDir, false, "volume " + volumeId + ": a point-in-time image of it is being made (lock "
                + volumeDir.resolve(FILE) + "); its half-applied group is undone once the image is done");
    }

    private static RollbackLock acquire(Path volumeDir, boolean shared, String busy)
            throws IOException, RefusedException {
        Path file = volumeDir.resolve(FILE);
        FileChannel ch;
        if (shared && java.nio.file.Files.exists(file)) {
            ch = FileChannel.open(file, StandardOpenOption.READ); // an image only reads
        } else {
            try {
                ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
            } catch (java.nio.file.AccessDeniedException e) {
                throw new RefusedException("lock file: " + file + " cannot be created (expected: created by the"
                        + " replayer when it opens the volume, or run this as the replayer's user)");
            }
        }
        FileLock l;
        try {
            l = ch.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            l = null;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (l == null) {
            ch.close();
            throw new RefusedException(busy);
        }
        return new RollbackLock(ch, l);
    }

    /** Creates the lock file if missing, so that images need only read access to the volume's folder. */
    static void createFile(Path volumeDir) throws IOException {
        Path file = volumeDir.resolve(FILE);
        if (!java.nio.file.Files.exists(file)) {
            java.nio.file.Files.newByteChannel(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE).close();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
