package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chunks a running resync epoch took from the {@link ChangedChunks changed-chunk set} and has
 * not compared yet, kept on disk so that an epoch cut by the source's stop (a clean stop, a kill -9,
 * a power cut) is resumed after its restart instead of comparing the whole volume again: the
 * restarted source puts them back into the set and its next epoch resumes the cut one.
 *
 * <pre>
 * resync.owed, big-endian
 * offset size field
 *  0      4   magic        0x544C524F ("TLRO")
 *  4      2   version      1
 *  6      2   flags        bit 0 ALL: every chunk of the volume was taken (a full epoch)
 *  8      4   chunkBytes   the changed-chunk set's chunk size
 * 12      8   epochId      the epoch that took them (never 0)
 * 20      8   fromBytes    chunks before this byte are compared and their differing blocks durable in the buffer
 * 28      4   bitmapBytes  length of the bitmap (0 with ALL)
 * 32      4   bitmapCrc    CRC-32C of the bitmap
 * 36      4   headerCrc    CRC-32C of bytes [0, 36)
 * 40     24   zero
 * 64      n   bitmap       as changed.chunks': bit (i mod 8) of byte 64 + i/8 = chunk i taken
 * </pre>
 *
 * <p>Durability: {@link #keep} replaces the file atomically and durably <i>before</i> the set is
 * emptied, so a cut between the two leaves the chunks in both (put back twice: a union).
 * {@link #compareReached} rewrites the 40-byte header in place (one sector) and forces it; the
 * caller first makes the buffer durable up to the epoch's last logged block, so that every chunk
 * before {@code fromBytes} has its differing blocks on the way to the replicas. A header or bitmap
 * that fails its CRC, or any other damage, makes the file unread (logged): the cut epoch is then
 * forgotten, its replicas stay stale in it and a whole-volume epoch follows, as before this file.
 */
public final class OwedChunks {
    /** The file's name in the volume's buffer directory. */
    public static final String FILE = "resync.owed";

    private static final Logger log = LoggerFactory.getLogger(OwedChunks.class);
    private static final int MAGIC = 0x544C524F;
    private static final int VERSION = 1;
    private static final int FLAG_ALL = 1;
    static final int HEADER_BYTES = 64;
    private static final int CRC_COVERED = 36;

    /** What a cut epoch still owed: {@code chunks} from byte {@code fromBytes} on. */
    public record Owed(long epochId, ChangedChunks.Snapshot chunks, long fromBytes) {
    }

    private OwedChunks() {
    }

    /** Keeps {@code taken}, the chunks epoch {@code epochId} takes, durably; replaces an earlier epoch's. */
    static void keep(Path dir, long epochId, ChangedChunks.Snapshot taken) throws IOException {
        byte[] bitmap = taken.all() ? new byte[0] : bitmap(taken.words());
        CRC32C crc = new CRC32C();
        crc.update(bitmap);
        ByteBuffer content = ByteBuffer.allocate(HEADER_BYTES + bitmap.length);
        content.put(header(taken.all(), taken.chunkBytes(), epochId, 0, bitmap.length, (int) crc.getValue()));
        content.position(HEADER_BYTES).put(bitmap).flip();
        DurableFiles.replace(dir.resolve(FILE), content);
    }

    /**
     * Records that epoch {@code epochId} compared every chunk before {@code fromBytes} and that the
     * blocks it found differing there are durable in the buffer. Does nothing when the file holds
     * another epoch or none.
     */
    static void compareReached(Path dir, long epochId, long fromBytes) throws IOException {
        Path file = dir.resolve(FILE);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
            DurableFiles.readUpTo(ch, h, 0);
            h.flip();
            if (checkHeader(h) != null || h.getLong(12) != epochId) {
                return;
            }
            ByteBuffer updated = header((h.getShort(6) & FLAG_ALL) != 0, h.getInt(8), epochId, fromBytes,
                    h.getInt(28), h.getInt(32));
            DurableFiles.writeFully(ch, updated.limit(CRC_COVERED + 4), 0);
            ch.force(false);
        } catch (NoSuchFileException e) {
            // no epoch's chunks kept: nothing to move on
        }
    }

    /** The epoch completed: nothing is owed. Durable on return. */
    static void settle(Path dir) throws IOException {
        if (Files.deleteIfExists(dir.resolve(FILE))) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /** What a cut epoch owed, or null when nothing is kept or the file is damaged (logged). */
    static Owed read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        ByteBuffer all = DurableFiles.readSmallFile(file, HEADER_BYTES + (64 << 20));
        String problem = all.remaining() < HEADER_BYTES ? "size: " + all.remaining() + " bytes (expected: >= "
                + HEADER_BYTES + ")" : checkHeader(all);
        if (problem == null) {
            int bitmapBytes = all.getInt(28);
            if (bitmapBytes != all.remaining() - HEADER_BYTES) {
                problem = "bitmap: " + (all.remaining() - HEADER_BYTES) + " bytes (expected: " + bitmapBytes + ")";
            } else {
                CRC32C crc = new CRC32C();
                crc.update(all.duplicate().position(HEADER_BYTES));
                problem = (int) crc.getValue() == all.getInt(32) ? null : "crc32c mismatch in the bitmap";
            }
        }
        if (problem != null) {
            log.warn("resync's owed chunks unreadable, the epoch they belong to is forgotten (a whole-volume epoch"
                    + " follows for a replica still in it) file={} problem={}", file, problem);
            return null;
        }
        boolean everyChunk = (all.getShort(6) & FLAG_ALL) != 0;
        long[] words = ChangedChunks.bitmapWords(all, HEADER_BYTES, all.remaining() - HEADER_BYTES, 0);
        return new Owed(all.getLong(12), new ChangedChunks.Snapshot(all.getInt(8), everyChunk, words),
                all.getLong(20));
    }

    private static ByteBuffer header(boolean everyChunk, int chunkBytes, long epochId, long fromBytes, int bitmapBytes,
            int bitmapCrc) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
        h.putInt(MAGIC).putShort((short) VERSION).putShort((short) (everyChunk ? FLAG_ALL : 0)).putInt(chunkBytes)
                .putLong(epochId).putLong(fromBytes).putInt(bitmapBytes).putInt(bitmapCrc);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, CRC_COVERED);
        h.putInt((int) crc.getValue());
        return h.position(0);
    }

    private static String checkHeader(ByteBuffer h) {
        if (h.remaining() < HEADER_BYTES) {
            return "size: " + h.remaining() + " bytes (expected: >= " + HEADER_BYTES + ")";
        }
        if (h.getInt(0) != MAGIC) {
            return String.format("magic: 0x%08x (expected: 0x%08x)", h.getInt(0), MAGIC);
        }
        CRC32C crc = new CRC32C();
        crc.update(h.duplicate().position(0).limit(CRC_COVERED));
        if ((int) crc.getValue() != h.getInt(CRC_COVERED)) {
            return "crc32c mismatch in the header";
        }
        int version = h.getShort(4) & 0xFFFF;
        if (version != VERSION) {
            return "version: " + version + " (expected: " + VERSION + ")";
        }
        int chunkBytes = h.getInt(8);
        if (chunkBytes < 4096 || Integer.bitCount(chunkBytes) != 1) {
            return "chunkBytes: " + chunkBytes + " (expected: a power of two >= 4096)";
        }
        if (h.getLong(12) == 0 || h.getLong(20) < 0 || h.getInt(28) < 0) {
            return "epochId " + h.getLong(12) + ", fromBytes " + h.getLong(20) + ", bitmapBytes " + h.getInt(28)
                    + " (expected: an epoch, and neither negative)";
        }
        return null;
    }

    /** The bitmap of {@code words} without its trailing zero words. */
    private static byte[] bitmap(long[] words) {
        int last = words.length;
        while (last > 0 && words[last - 1] == 0) {
            last--;
        }
        return ChangedChunks.bitmapBytes(words, last);
    }
}
