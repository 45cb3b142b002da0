package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sequence floor of a write-once buffer ({@link BufferConfig#writeOnce}): a durable promise
 * that no record above {@link #reservedThrough} was ever appended, so after a crash that took
 * the unforced segments the buffer can start past every sequence a remote may have applied
 * (a replica's undo log and audit only move forward). Sequences are reserved in blocks of
 * {@link #BLOCK} ahead of the appends: one atomic file replacement (two fsyncs) per 4 Mi records.
 *
 * <p>The file also names the boot it was written in (Linux's {@code boot_id}). An unclean stop in
 * the same boot (kill -9, an out-of-memory kill, a crash of the JVM) left every record in the page
 * cache, which the kernel writes back or keeps: the buffer then recovers as the durable mode does,
 * every record kept. Only a new boot (power cut, kernel crash, a moved disk) drops the segments.
 *
 * <pre>
 * sequence.reserved, big-endian
 * offset size field
 *  0      4   magic           0x544C5352 ("TLSR")
 *  4      2   version         1
 *  6      2   zero
 *  8      8   reservedThrough no record above this sequence was appended
 * 16     16   bootId          /proc/sys/kernel/random/boot_id when written (zero: unknown, never this boot)
 * 32      4   crc32c          CRC-32C of bytes [0, 32)
 * </pre>
 *
 * <p>The file exists exactly while the buffer directory is in the write-once mode, so
 * {@code tapline status} (another process) reads the mode from it. It is replaced atomically, so
 * a crash leaves the old or the new floor; a file that still fails its check (a damaged disk) is
 * answered with a floor {@link #DAMAGED_MARGIN} past every sequence the directory still names.
 *
 * <p>Not thread-safe: the buffer calls it under its writer lock.
 */
final class SequenceReservation {
    private static final Logger log = LoggerFactory.getLogger(SequenceReservation.class);
    /** File name inside the buffer's volume directory. */
    static final String FILE = "sequence.reserved";
    /** Sequences reserved at a time. */
    static final long BLOCK = 1L << 22;
    /**
     * How far past the highest sequence the directory still names a damaged file puts the floor:
     * more records than a source appends in years (2^40, 35 years at a million records per second).
     */
    static final long DAMAGED_MARGIN = 1L << 40;
    private static final int MAGIC = 0x544C5352;
    private static final short VERSION = 1;
    private static final int BYTES = 36;
    private static final int CRC_AT = 32;
    /** This boot's id, read once: it cannot change while the process runs. */
    private static final byte[] THIS_BOOT = readBootId(Path.of("/proc/sys/kernel/random/boot_id"));

    private final Path file;
    private final long block;
    private long reservedThrough;

    private SequenceReservation(Path file, long block, long reservedThrough) {
        this.file = file;
        this.block = block;
        this.reservedThrough = reservedThrough;
    }

    /** Whether {@code dir} was last run in the write-once mode. */
    static boolean present(Path dir) {
        return Files.exists(dir.resolve(FILE));
    }

    /**
     * The floor a crashed write-once buffer starts past: the reserved sequence, or, when the file
     * is damaged, {@code highestKnown + DAMAGED_MARGIN} (WARN).
     */
    static long floorAfterCrash(Path dir, long highestKnown) throws IOException {
        Path file = dir.resolve(FILE);
        try {
            return read(file);
        } catch (BufferCorruptException e) {
            long floor = highestKnown + DAMAGED_MARGIN;
            log.warn("write-once sequence floor unreadable file={} cause={}: starting past {} instead", file,
                    e.getMessage(), floor);
            return floor;
        }
    }

    /**
     * Whether the file was written in this boot of the kernel, so the page cache still holds every
     * record the last run appended (false when it cannot tell: no boot id, a damaged file).
     */
    static boolean writtenThisBoot(Path dir) throws IOException {
        if (isZero(THIS_BOOT)) {
            return false;
        }
        try {
            ByteBuffer buf = checked(dir.resolve(FILE));
            byte[] written = new byte[16];
            buf.get(16, written);
            return java.util.Arrays.equals(THIS_BOOT, written);
        } catch (BufferCorruptException e) {
            return false;
        }
    }

    /** Rewrites the file as if written in another boot (for tests of what a power cut leaves). */
    static void forgetBoot(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        DurableFiles.replace(file, encode(read(file), new byte[16]));
    }

    /** Starts reserving for a buffer whose last appended sequence is {@code lastSequence}. */
    static SequenceReservation begin(Path dir, long lastSequence) throws IOException {
        return begin(dir, lastSequence, BLOCK);
    }

    /** {@link #begin(Path, long)} reserving {@code block} sequences at a time (tests reach a boundary with a small one). */
    static SequenceReservation begin(Path dir, long lastSequence, long block) throws IOException {
        if (block < 1) {
            throw new IllegalArgumentException("block: " + block + " (expected: >= 1)");
        }
        SequenceReservation r = new SequenceReservation(dir.resolve(FILE), block, -1);
        r.cover(lastSequence);
        return r;
    }

    /** Removes the file: the directory leaves the write-once mode (durably). */
    static void end(Path dir) throws IOException {
        if (Files.deleteIfExists(dir.resolve(FILE))) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /** Makes sure {@code sequence} is reserved, durably, before a record carrying it is appended. */
    void cover(long sequence) throws IOException {
        if (sequence <= reservedThrough) {
            return;
        }
        long next = sequence + block;
        DurableFiles.replace(file, encode(next, THIS_BOOT));
        reservedThrough = next;
    }

    private static ByteBuffer encode(long reserved, byte[] bootId) {
        ByteBuffer buf = ByteBuffer.allocate(BYTES);
        buf.putInt(MAGIC).putShort(VERSION).putShort((short) 0).putLong(reserved).put(bootId);
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, CRC_AT);
        return buf.putInt((int) crc.getValue()).flip();
    }

    /** The kernel's boot id as 16 bytes; zeros when it cannot be read (not Linux). */
    private static byte[] readBootId(Path file) {
        byte[] id = new byte[16];
        try {
            String hex = Files.readString(file).trim().replace("-", "");
            if (hex.length() == 32) {
                for (int i = 0; i < 16; i++) {
                    id[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
                }
            }
        } catch (IOException | NumberFormatException e) {
            java.util.Arrays.fill(id, (byte) 0);
        }
        return id;
    }

    private static boolean isZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /** The highest sequence reserved so far. */
    long reservedThrough() {
        return reservedThrough;
    }

    static long read(Path file) throws IOException {
        return checked(file).getLong(8);
    }

    /** The file's bytes, checked (size, magic, version, CRC, a sequence >= 0). */
    private static ByteBuffer checked(Path file) throws IOException {
        ByteBuffer buf = DurableFiles.readSmallFile(file, 4096);
        if (buf.remaining() != BYTES) {
            throw new BufferCorruptException(file, 0, "sequence reservation of " + buf.remaining() + " bytes (expected: "
                    + BYTES + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().limit(CRC_AT));
        if (buf.getInt(0) != MAGIC || buf.getShort(4) != VERSION || buf.getInt(CRC_AT) != (int) crc.getValue()
                || buf.getLong(8) < 0) {
            throw new BufferCorruptException(file, 0, "sequence reservation fails its check (magic, version or CRC)");
        }
        return buf;
    }
}
