package io.tapline.log;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The durability primitives of the buffer's small files: whole-file replacement (temp file,
 * fsync, rename, directory fsync), directory fsync, positional read/write loops, and deleting a
 * folder's tree.
 *
 * <p>Stateless and thread-safe.
 */
public final class DurableFiles {
    /** Suffix of a replacement in progress; leftovers are deleted when a buffer opens. */
    public static final String TEMP_SUFFIX = ".tmp";

    private DurableFiles() {
    }

    /**
     * Atomically replaces {@code target} with {@code content}: after a crash the file holds either
     * the old or the new bytes, never a mix.
     */
    public static void replace(Path target, ByteBuffer content) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, content.duplicate(), 0);
            ch.force(true);
        } catch (java.nio.file.FileSystemException e) {
            throw e; // names its file already
        } catch (IOException e) {
            // A channel's errno ("No space left on device") names no file: an operator must know
            // which disk to free. The half-written replacement is not left behind.
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one to report
            }
            throw naming(tmp, e);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(target.toAbsolutePath().getParent());
    }

    /** The one line an error says: its message, or the exception itself when it has none. */
    public static String reason(Throwable e) {
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /**
     * {@code e} naming {@code where} (a file, a folder): a channel's errno ("No space left on
     * device") names none, and an operator must know which disk to free.
     */
    public static IOException naming(Object where, IOException e) {
        return new IOException(where + ": " + reason(e), e);
    }

    /** {@link #replace(Path, ByteBuffer)} for an array. */
    public static void replace(Path target, byte[] content) throws IOException {
        replace(target, ByteBuffer.wrap(content));
    }

    /** Makes creations, renames and deletions in {@code dir} durable. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Writes all of {@code src} at {@code position}. */
    public static void writeFully(FileChannel ch, ByteBuffer src, long position) throws IOException {
        long pos = position;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }

    /**
     * Reads from {@code position} until {@code dst} is full or the file ends.
     *
     * @return the number of bytes read
     */
    public static int readUpTo(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        int total = 0;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** Fills {@code dst} from {@code position}, failing at the end of the file. */
    public static void readFully(FileChannel ch, ByteBuffer dst, long position, Path file) throws IOException {
        int want = dst.remaining();
        int got = readUpTo(ch, dst, position);
        if (got < want) {
            throw new EOFException("read: " + got + " bytes at offset " + position + " (expected: " + want
                    + ") file=" + file);
        }
    }

    /** Disk sector: the unit a power cut writes whole or not at all. */
    public static final int SECTOR_BYTES = 512;

    /**
     * Whether a disk sector a power cut left unwritten lies in {@code [from, to)}, where
     * {@code to} is where valid data starts again: a sector that ends at or before {@code to} and
     * reads as zeros from {@code from} (or its start) to its end. Appends only turn zeros beyond
     * the old end of the file into data, and a sector is written whole or not at all, so a cut
     * that lost appended sectors before later ones leaves exactly that; damage without it
     * (flipped bits, a few zero bytes inside written data) is corruption, not a cut.
     */
    public static boolean hasUnwrittenSector(FileChannel ch, long from, long to) throws IOException {
        long firstSector = from / SECTOR_BYTES * SECTOR_BYTES;
        long lastEnd = to / SECTOR_BYTES * SECTOR_BYTES;
        if (lastEnd <= firstSector) {
            return false;
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) (lastEnd - from));
        readUpTo(ch, bytes, from);
        for (long sector = firstSector; sector + SECTOR_BYTES <= lastEnd; sector += SECTOR_BYTES) {
            long lo = Math.max(sector, from);
            boolean zero = true;
            for (long i = lo; i < sector + SECTOR_BYTES && zero; i++) {
                zero = bytes.get((int) (i - from)) == 0;
            }
            if (zero) {
                return true;
            }
        }
        return false;
    }

    /** Reads a whole small file. */
    public static ByteBuffer readSmallFile(Path file, int maxBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > maxBytes) {
                throw new IOException("size: " + size + " bytes (expected: <= " + maxBytes + ") file=" + file);
            }
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            readUpTo(ch, buf, 0);
            return buf.flip();
        }
    }

    /**
     * Whether {@code e} (or a cause) is a file system refusing a write for want of room: ENOSPC,
     * EDQUOT or EFBIG, as the JDK words them.
     */
    public static boolean noSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded")
                    || m.contains("File too large"))) {
                return true;
            }
        }
        return false;
    }

    /** Deletes {@code dir} and everything under it; nothing when it does not exist. */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) tree.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
