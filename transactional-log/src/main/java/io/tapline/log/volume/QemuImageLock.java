package io.tapline.log.volume;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Structure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The image locks QEMU takes on a raw image it writes (its {@code file-posix} driver), taken on a
 * Tapline image so that QEMU's tools and VMs refuse to write it while Tapline does: open file
 * description locks ({@code F_OFD_SETLK}), shared, on byte 101 ("uses write") and byte 201
 * ("does not share write"). {@code qemu-img convert} into the image, {@code qemu-io},
 * {@code qemu-nbd} and a VM then fail with "Failed to get "write" lock ... Is another process using
 * the image?", and a reader that does not share write ({@code qemu-img convert} from it) with
 * "Failed to get shared "write" lock" unless given {@code -U}: the answers they give for an image a
 * running VM holds. Before locking, the same two bytes are tested: a program that already holds
 * either (a VM writing the image, a {@code qemu-img} reading it) makes the open fail.
 *
 * <p>Shared locks never conflict with each other, and images this JVM already holds are not
 * tested (their bytes are its own), so opening one file twice in one process works; a second
 * process that opens an image Tapline writes is refused like a QEMU one. A mount through a loop
 * device, {@code dd} or nbdkit take no such locks and are not stopped (a replica notices them
 * afterwards: {@code OutsideWrites}). Without OFD locks (not Linux, or no native access) nothing
 * is locked.
 */
final class QemuImageLock {
    /** QEMU's {@code RAW_LOCK_PERM_BASE + BLK_PERM_WRITE's bit}: held by whoever writes the image. */
    static final long USES_WRITE_BYTE = 101;
    /** QEMU's {@code RAW_LOCK_SHARED_BASE + BLK_PERM_WRITE's bit}: held by whoever does not let others write. */
    static final long SHARES_NO_WRITE_BYTE = 201;

    private static final int F_OFD_GETLK = 36;
    private static final int F_OFD_SETLK = 37;
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    /** Images (their file keys) this JVM holds locks on, with how many opens hold them. */
    private static final Map<Object, Integer> HELD_HERE = new HashMap<>();

    private final Object fileKey;
    private boolean released;

    private QemuImageLock(Object fileKey) {
        this.fileKey = fileKey;
    }

    /**
     * Tests (unless this JVM already holds the image), then takes, both locks on {@code fd} (a
     * descriptor of {@code path} that lives as long as the image is open; closing it releases
     * them); {@link #release} when it is closed.
     *
     * @return the lock, or null when the platform has no OFD locks (nothing locked)
     * @throws IOException one line naming the image and what holds it, when another program does
     */
    static QemuImageLock lock(int fd, Path path) throws IOException {
        if (fd < 0 || !Platform.isLinux()) {
            return null;
        }
        Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        synchronized (HELD_HERE) {
            try {
                if (!HELD_HERE.containsKey(key)) {
                    if (heldByAnother(fd, USES_WRITE_BYTE)) {
                        throw new IOException("image " + path + " is in use by another program that writes it (it"
                                + " holds QEMU's \"write\" lock: a VM, qemu-nbd, qemu-io, qemu-img or another Tapline):"
                                + " stop it first");
                    }
                    if (heldByAnother(fd, SHARES_NO_WRITE_BYTE)) {
                        throw new IOException("image " + path + " is open in another program that lets nobody write"
                                + " it (it holds QEMU's \"shared write\" lock: qemu-img reading it without -U): wait"
                                + " for it or stop it");
                    }
                }
                take(fd, USES_WRITE_BYTE);
                take(fd, SHARES_NO_WRITE_BYTE);
            } catch (LastErrorException | LinkageError e) {
                return null; // EINVAL: a kernel or file system without OFD locks
            }
            HELD_HERE.merge(key, 1, Integer::sum);
            return new QemuImageLock(key);
        }
    }

    /** The image's descriptor was closed (its locks with it): one open of this JVM fewer. */
    void release() {
        synchronized (HELD_HERE) {
            if (!released) {
                released = true;
                HELD_HERE.computeIfPresent(fileKey, (k, n) -> n == 1 ? null : n - 1);
            }
        }
    }

    /** Whether another open file description holds a lock on {@code offset}: an exclusive lock there would conflict. */
    static boolean heldByAnother(int fd, long offset) {
        Flock probe = new Flock(F_WRLCK, offset);
        Fcntl.INSTANCE.fcntl(fd, F_OFD_GETLK, probe);
        probe.read();
        return probe.l_type != F_UNLCK;
    }

    private static void take(int fd, long offset) {
        Fcntl.INSTANCE.fcntl(fd, F_OFD_SETLK, new Flock(F_RDLCK, offset));
    }

    /** {@code struct flock}: one byte at {@code offset}, from the start of the file. */
    public static final class Flock extends Structure {
        public short l_type;
        public short l_whence;
        public long l_start;
        public long l_len;
        public int l_pid;

        public Flock() {
        }

        Flock(short type, long offset) {
            l_type = type;
            l_start = offset;
            l_len = 1;
            write();
        }

        @Override
        protected List<String> getFieldOrder() {
            return List.of("l_type", "l_whence", "l_start", "l_len", "l_pid");
        }
    }

    private interface Fcntl extends com.sun.jna.Library {
        Fcntl INSTANCE = Native.load("c", Fcntl.class);

        int fcntl(int fd, int cmd, Flock lock) throws LastErrorException;
    }
}
