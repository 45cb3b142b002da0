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

    /** The lock is held by another process (or another holder in this one): what callers name the remedy for. */
    public static final class InUseException extends IOException {
        InUseException(String message) {
            super(message);
        }
    }

    /**
     * Takes the lock on {@code lockFile} (created if missing) for {@code subject}.
     *
     * @param what the option or role named in the error, e.g. {@code buffer}
     * @throws InUseException {@code what: subject is in use by another process (lock file F)} when
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
            throw new InUseException(what + ": " + subject + " is in use by another process (lock file " + lockFile + ")");
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

    /** {@link #holder}: nobody holds the lock. */
    public static final long NOBODY = 0;
    /** {@link #holder}: cannot be told here (no {@code /proc/locks}, or the lock file unreadable). */
    public static final long UNKNOWN = -1;

    /**
     * The process holding {@code lockFile}'s lock, read from {@code /proc/locks} (Linux) without
     * taking it: a read-only tool must never take the lock, or a writer starting at that moment
     * would be refused. Returns the holder's PID, {@link #NOBODY} (also when the file does not
     * exist), or {@link #UNKNOWN}.
     */
    public static long holder(Path lockFile) {
        Path locks = Path.of("/proc/locks");
        try {
            if (!java.nio.file.Files.exists(lockFile)) {
                return NOBODY;
            }
            long inode = ((Number) java.nio.file.Files.getAttribute(lockFile, "unix:ino")).longValue();
            long dev = ((Number) java.nio.file.Files.getAttribute(lockFile, "unix:dev")).longValue();
            String device = String.format("%02x:%02x:%d", devMajor(dev), devMinor(dev), inode);
            for (String line : java.nio.file.Files.readAllLines(locks)) {
                // "1: POSIX  ADVISORY  WRITE 24430 fe:00:1099834 0 EOF" (an OFD lock shows PID -1)
                String[] f = line.trim().split("\\s+");
                if (f.length >= 6 && !line.contains("->") && f[f.length - 3].equals(device) && "WRITE".equals(f[f.length - 5])) {
                    long pid = Long.parseLong(f[f.length - 4]);
                    return pid > 0 ? pid : UNKNOWN;
                }
            }
            return NOBODY;
        } catch (IOException | RuntimeException e) {
            return UNKNOWN;
        }
    }

    /** glibc's {@code major()} of a {@code dev_t}. */
    private static long devMajor(long dev) {
        return ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
    }

    /** glibc's {@code minor()} of a {@code dev_t}. */
    private static long devMinor(long dev) {
        return (dev & 0xff) | ((dev >>> 12) & ~0xffL);
    }
}
