package io.tapline.log;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a lock file, held while a process writes to what the file guards (a
 * capture buffer directory, a replayer data directory, a wedge's primary volume): a second
 * writer is refused instead of overwriting sequences. Read-only tools ({@code tapline status})
 * never take it.
 *
 * <p>{@link FileChannel#tryLock()} is advisory and per process: the operating system drops the
 * lock when the process dies, so a crash leaves no stale lock, only the (empty) lock file.
 * Within one JVM a second {@code tryLock} throws {@link OverlappingFileLockException}; both cases
 * give the same error. Thread-safe; {@link #close} releases the lock and is idempotent.
 */
public final class ExclusiveLock implements Closeable {
    private final FileChannel channel;
    private final FileLock lock;

    private ExclusiveLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock on {@code lockFile} (created if missing) for {@code subject}.
     *
     * @param what the option or role named in the error, e.g. {@code buffer}
     * @throws IOException {@code what: subject is in use by another process (lock file F)} when
     *         another holder has it
     */
    public static ExclusiveLock acquire(Path lockFile, String what, Path subject) throws IOException {
        FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // Held by this JVM: the same refusal as for another process.
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            ch.close();
            throw new IOException(what + ": " + subject + " is in use by another process (lock file " + lockFile + ")");
        }
        return new ExclusiveLock(ch, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } finally {
            channel.close();
        }
    }
}
