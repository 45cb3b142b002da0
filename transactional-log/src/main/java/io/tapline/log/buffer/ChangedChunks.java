package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The persistent changed-chunk set of a volume (block tracking, DRBD's bitmap): one bit per chunk
 * of {@code chunkBytes} whose data the capture buffer does not hold (writes not stored while
 * FULL or after a buffer I/O error, ranges of GAP records), or a whole-volume flag when the range
 * is unknown. A resync reads the set, compares those chunks with the replica by checksum and
 * ships what differs.
 *
 * <pre>
 * changed.chunks, big-endian
 * offset size field
 *  0      4   magic        0x544C4343 ("TLCC")
 *  4      2   version      1
 *  6      2   flags        bit 0 ALL: every chunk is to be compared (range unknown); bits 8..11 with
 *                           ALL: why, a {@link WholeVolumeCause} code (0 unknown: written before
 *                           2026-12-06, or a damaged set); older readers ignore them
 *  8      4   chunkBytes   power of two, 4096..16 MiB
 * 12      8   sinceSeq     the set holds every untracked change since this buffer sequence (the last drain)
 * 20      4   crc32c       CRC-32C of bytes [0, 20)
 * 24      8   zero
 * 32      n   bitmap       bit (i mod 8) of byte 32 + i/8 = chunk i changed; the file may end early (zeroes)
 * </pre>
 *
 * <p>Durability: a newly set bit is written in place into the page cache at once (one pwrite of
 * one byte, only the first time a chunk is touched) and made durable by {@link #force}, which
 * the buffer's {@code sync} calls, so a FLUSH the host relies on also covers the bits of the
 * writes before it. The ALL flag and {@link #drain} replace the file durably. A header that fails
 * its CRC (a torn write) is read as ALL: the whole volume is compared, nothing is missed.
 *
 * <p>Why a bitmap and not Chronicle Map: the set is dense, bounded and keyed by a small integer;
 * 1 MiB chunks of a 16 TiB volume take 2 MiB, load with one read, and need no extra JVM flags or
 * runtime compilation in short CLI commands (see the note in {@code docs/architecture.md}).
 *
 * <p>Thread-safe (synchronized).
 */
public final class ChangedChunks implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ChangedChunks.class);
    /** File name inside the buffer's volume directory. */
    public static final String FILE = "changed.chunks";
    /** Default chunk size: 1 MiB. */
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
    static final int MAGIC = 0x544C4343;
    static final int VERSION = 1;
    static final int HEADER_BYTES = 32;
    private static final int FLAG_ALL = 1;
    private static final int CAUSE_SHIFT = 8;
    private static final int CAUSE_MASK = 0xF;

    /**
     * Why the whole volume is tracked: shown by status ({@code whole volume awaiting resync
     * (CAUSE)}) and carried into the resync epoch's RESYNC_BEGIN text, which every replica audits.
     * The code is stored in the header's flags, so it never outlives the ALL flag it explains.
     */
    public enum WholeVolumeCause {
        /** A set written before causes were kept, or one whose header did not survive. */
        UNKNOWN(0, "cause not recorded"),
        /** The primary image changed while the wedge did not hold it (its stamp differs). */
        PRIMARY_CHANGED(1, "the primary image was changed while the wedge did not hold it"),
        /** The buffer was not closed cleanly and keeps no readable activity log. */
        UNCLEAN_SHUTDOWN(2, "a crash or power loss, with no readable activity log to narrow it"),
        /** The set's own file was unreadable at open. */
        SET_DAMAGED(3, "the changed-chunk set was damaged"),
        /** A lost range that is unknown or too long to track chunk by chunk. */
        RANGE_UNKNOWN(4, "writes lost over an unknown range"),
        /** A bit could not be written (a full file system): the whole volume stands in for it. */
        BIT_NOT_SAVED(5, "a changed chunk could not be recorded (buffer disk full or failing)"),
        /** A cascade node: the hop upstream resynced, so everything it sent may differ. */
        UPSTREAM_RESYNC(6, "the upstream hop resynced"),
        /** A cascade node could not store what the hop upstream sent. */
        FORWARD_FAILED(7, "records from the upstream hop could not be stored"),
        /** Another program changed the primary image while the wedge served it (and its host was idle). */
        PRIMARY_WRITTEN_WHILE_SERVED(8, "the primary image was changed by another program while the wedge served it"),
        /** A new buffer in front of a primary that already held data: no replica has any of it yet. */
        PRIMARY_HELD_DATA(9, "the primary held data before its first capture: the replicas must be seeded"),
        /** {@code tapline buffer repair} cut records from the buffer: a replica may lack them. */
        RECORDS_CUT(10, "records were cut from the buffer by a repair: the replicas may lack them");

        private final int code;
        private final String text;

        WholeVolumeCause(int code, String text) {
            this.code = code;
            this.text = text;
        }

        /** One phrase for status and the resync's BEGIN text. */
        public String text() {
            return text;
        }

        /** {@link #text} of {@code cause}, empty for none (the whole volume is not tracked). */
        public static String textOf(WholeVolumeCause cause) {
            return cause == null ? "" : cause.text;
        }

        static WholeVolumeCause of(int code) {
            for (WholeVolumeCause c : values()) {
                if (c.code == code) {
                    return c;
                }
            }
            return UNKNOWN;
        }
    }

    private final Path file;
    private final int chunkBytes;
    private final int chunkShift;
    private FileChannel channel;
    private long[] words;
    private long count;
    private boolean all;
    private WholeVolumeCause cause = WholeVolumeCause.UNKNOWN;
    private long sinceSequence;
    private boolean dirty;
    private boolean unsaved;
    /**
     * Marks made since {@link #snapshotForCopy} (null when no copy is open): a chunk marked again
     * while its copy ran stays in the set at {@link #copied}.
     */
    private long[] markedDuringCopy;
    private boolean allDuringCopy;

    private ChangedChunks(Path file, int chunkBytes) {
        this.file = file;
        this.chunkBytes = chunkBytes;
        this.chunkShift = Integer.numberOfTrailingZeros(chunkBytes);
        this.words = new long[16];
    }

    /** A snapshot of the set taken by {@link #drain}. */
    public record Snapshot(int chunkBytes, boolean all, long[] words) {
        /** Every chunk of the volume, in chunks of {@code chunkBytes}. */
        public static Snapshot all(int chunkBytes) {
            return new Snapshot(chunkBytes, true, new long[0]);
        }

        /** Whether chunk {@code index} is in the snapshot (always when {@link #all}). */
        public boolean contains(long index) {
            if (all) {
                return true;
            }
            int w = (int) (index >>> 6);
            return w < words.length && (words[w] & (1L << index)) != 0;
        }

        /** The next chunk index at or after {@code from} in the snapshot, or -1 (never -1 for ALL below {@code limit}). */
        public long next(long from, long limit) {
            for (long i = from; i < limit; i++) {
                if (all) {
                    return i;
                }
                int w = (int) (i >>> 6);
                if (w >= words.length) {
                    return -1;
                }
                if (words[w] == 0) {
                    i = ((long) w << 6) + 63;
                    continue;
                }
                if ((words[w] & (1L << i)) != 0) {
                    return i;
                }
            }
            return -1;
        }
    }

    /** Opens (creating if missing) the set of {@code dir}; an existing file keeps its chunk size. */
    public static ChangedChunks open(Path dir, int chunkBytes) throws IOException {
        if (chunkBytes < 4096 || chunkBytes > (16 << 20) || Integer.bitCount(chunkBytes) != 1) {
            throw new IllegalArgumentException("chunkBytes: " + chunkBytes + " (expected: a power of two in 4096..16777216)");
        }
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            DurableFiles.replace(file, header(chunkBytes, false, WholeVolumeCause.UNKNOWN, 0));
            DurableFiles.syncDirectory(dir);
        }
        ByteBuffer all = DurableFiles.readSmallFile(file, HEADER_BYTES + (64 << 20));
        int storedChunkBytes = all.remaining() >= 16 ? all.getInt(8) : chunkBytes;
        String problem = check(all);
        ChangedChunks set;
        if (problem != null) {
            log.warn("changed-chunk set unreadable, every chunk will be compared file={} problem={}", file, problem);
            set = new ChangedChunks(file, chunkBytes);
            set.all = true;
            set.cause = WholeVolumeCause.SET_DAMAGED;
            set.rewrite();
        } else {
            set = new ChangedChunks(file, storedChunkBytes);
            set.all = (all.getShort(6) & FLAG_ALL) != 0;
            set.cause = set.all ? causeIn(all) : WholeVolumeCause.UNKNOWN;
            set.sinceSequence = all.getLong(12);
            set.words = bitmapWords(all, HEADER_BYTES, all.remaining() - HEADER_BYTES, 16);
            for (long w : set.words) {
                set.count += Long.bitCount(w);
            }
        }
        set.channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return set;
    }

    private static String check(ByteBuffer buf) {
        if (buf.remaining() < HEADER_BYTES) {
            return "size: " + buf.remaining() + " bytes (expected: >= " + HEADER_BYTES + ")";
        }
        if (buf.getInt(0) != MAGIC) {
            return String.format("magic: 0x%08x (expected: 0x%08x)", buf.getInt(0), MAGIC);
        }
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().position(0).limit(20));
        if ((int) crc.getValue() != buf.getInt(20)) {
            return "crc32c mismatch in the header";
        }
        int version = buf.getShort(4) & 0xFFFF;
        if (version != VERSION) {
            return "version: " + version + " (expected: " + VERSION + ")";
        }
        int cb = buf.getInt(8);
        if (cb < 4096 || Integer.bitCount(cb) != 1) {
            return "chunkBytes: " + cb + " (expected: a power of two >= 4096)";
        }
        return null;
    }

    private static WholeVolumeCause causeIn(ByteBuffer header) {
        return WholeVolumeCause.of((header.getShort(6) >>> CAUSE_SHIFT) & CAUSE_MASK);
    }

    private static ByteBuffer header(int chunkBytes, boolean all, WholeVolumeCause cause, long sinceSequence) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
        int flags = all ? FLAG_ALL | cause.code << CAUSE_SHIFT : 0;
        h.putInt(MAGIC).putShort((short) VERSION).putShort((short) flags).putInt(chunkBytes)
                .putLong(sinceSequence);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, 20);
        h.putInt((int) crc.getValue());
        return h.position(0).limit(HEADER_BYTES);
    }

    /** The chunk size. */
    public int chunkBytes() {
        return chunkBytes;
    }

    /**
     * Adds the chunks of {@code [offsetBytes, offsetBytes + lengthBytes)}; a range that is unknown
     * or absurdly long ({@code lengthBytes} of {@link Long#MAX_VALUE}) marks the whole volume.
     */
    public synchronized void mark(long offsetBytes, long lengthBytes) throws IOException {
        if (lengthBytes <= 0) {
            return;
        }
        if (offsetBytes < 0 || lengthBytes > (1L << 50) || offsetBytes > (1L << 50)) {
            markAll(WholeVolumeCause.RANGE_UNKNOWN);
            return;
        }
        long first = offsetBytes >>> chunkShift;
        long last = (offsetBytes + lengthBytes - 1) >>> chunkShift;
        if (last - first > (1 << 22)) {
            markAll(WholeVolumeCause.RANGE_UNKNOWN);
            return;
        }
        for (long i = first; i <= last; i++) {
            noteDuringCopy(i);
            set(i);
        }
    }

    /**
     * Puts back the chunks of {@code drained} (every chunk, when it is {@link Snapshot#all}) from
     * byte {@code fromBytes} to {@code sizeBytes}: a resync epoch drained them and was abandoned
     * before it compared them, and the next epoch resumes it over the set. One rewrite of the file,
     * durable on return ({@link #mark}'s one write per bit would be millions for the rest of a
     * large volume). {@link #sinceSequence} is unchanged: the chunks the abandoned epoch did compare
     * were healed only on the replicas that took part in it.
     */
    public synchronized void restore(Snapshot drained, long fromBytes, long sizeBytes) throws IOException {
        if (drained.chunkBytes() != chunkBytes) {
            markAll(WholeVolumeCause.RANGE_UNKNOWN);
            return;
        }
        if (all || fromBytes >= sizeBytes) {
            return;
        }
        long limit = ((sizeBytes - 1) >>> chunkShift) + 1;
        boolean added = false;
        for (long i = drained.next(Math.max(0, fromBytes) >>> chunkShift, limit); i >= 0 && i < limit;
                i = drained.next(i + 1, limit)) {
            if (addBit(i)) {
                noteDuringCopy(i);
                added = true;
            }
        }
        if (added) {
            rewrite();
        }
    }

    private void noteDuringCopy(long index) {
        if (markedDuringCopy != null) {
            int w = (int) (index >>> 6);
            if (w >= markedDuringCopy.length) {
                markedDuringCopy = Arrays.copyOf(markedDuringCopy, Math.max(w + 1, markedDuringCopy.length * 2));
            }
            markedDuringCopy[w] |= 1L << index;
        }
    }

    /**
     * Marks every chunk, for {@code why} (kept with the flag; when the whole volume is already
     * tracked the first cause stays). Durable on return.
     */
    public synchronized void markAll(WholeVolumeCause why) throws IOException {
        allDuringCopy |= markedDuringCopy != null;
        if (!all) {
            all = true;
            cause = why;
            rewrite();
            log.warn("changed-chunk set now covers the whole volume ({}) file={}", why.text(), file);
        }
    }

    /** Why the whole volume is tracked; null when it is not. */
    public synchronized WholeVolumeCause wholeVolumeCause() {
        return all ? cause : null;
    }

    /** "whole volume (why)" or "N chunks": what a resync of the set now would compare. */
    public synchronized String describe() {
        return all ? "whole volume (" + cause.text() + ")" : count + " chunks";
    }

    /** Sets chunk {@code index}'s bit in memory; whether it was clear. */
    private boolean addBit(long index) {
        int w = (int) (index >>> 6);
        if (w >= words.length) {
            words = Arrays.copyOf(words, Math.max(w + 1, words.length * 2));
        }
        long bit = 1L << index;
        if ((words[w] & bit) != 0) {
            return false;
        }
        words[w] |= bit;
        count++;
        return true;
    }

    private void set(long index) throws IOException {
        if (!addBit(index)) {
            return;
        }
        int w = (int) (index >>> 6);
        int byteIndex = (int) (index >>> 3);
        byte b = (byte) (words[w] >>> ((byteIndex & 7) * 8));
        try {
            DurableFiles.writeFully(channel, ByteBuffer.wrap(new byte[] {b}), HEADER_BYTES + (long) byteIndex);
            dirty = true;
        } catch (IOException e) {
            // Extending the file failed (a full filesystem): fall back to "whole volume" in memory,
            // saved by the next force that can (a header-only file needs no new block).
            if (!all) {
                cause = WholeVolumeCause.BIT_NOT_SAVED;
            }
            all = true;
            unsaved = true;
            allDuringCopy |= markedDuringCopy != null;
            log.error("changed-chunk bit not saved, the whole volume will be compared file={} error={}", file,
                    e.toString());
        }
    }

    /** Whether no chunk is tracked. */
    public synchronized boolean isEmpty() {
        return !all && count == 0;
    }

    /** Chunks tracked ({@code -1} for the whole volume). */
    public synchronized long count() {
        return all ? -1 : count;
    }

    /** Makes the bits set so far durable. */
    public synchronized void force() throws IOException {
        if (unsaved) {
            try {
                rewrite();
                unsaved = false;
            } catch (IOException e) {
                log.warn("changed-chunk set still not saved file={} error={}", file, e.toString());
            }
            return;
        }
        if (dirty) {
            channel.force(false);
            dirty = false;
        }
    }

    /**
     * Takes the whole set and empties it, durably, remembering {@code beginSequence} as the new
     * {@link #sinceSequence}. The caller must first have made its resync
     * epoch's RESYNC_BEGIN durable: from then on an interrupted resync is visible on the replica
     * ("resyncing") and starts again over the whole volume, so nothing drained is ever forgotten.
     */
    public synchronized Snapshot drain(long beginSequence) throws IOException {
        Snapshot s = new Snapshot(chunkBytes, all, words.clone());
        words = new long[16];
        count = 0;
        all = false;
        cause = WholeVolumeCause.UNKNOWN;
        sinceSequence = beginSequence;
        rewrite();
        return s;
    }

    /**
     * {@link #drain} for resync epoch {@code epochId}, whose chunks are first kept durably
     * ({@link OwedChunks}) until {@link #owedSettled}: every chunk of the volume when the epoch is
     * {@code full}, else those drained. An epoch the source's stop cuts is resumed after its restart
     * ({@link #owedByACutEpoch}) instead of being forgotten.
     */
    public synchronized Snapshot drainOwed(long beginSequence, long epochId, boolean full) throws IOException {
        OwedChunks.keep(file.getParent(), epochId, full ? Snapshot.all(chunkBytes)
                : new Snapshot(chunkBytes, all, words.clone()));
        return drain(beginSequence);
    }

    /**
     * Epoch {@code epochId} compared every chunk before {@code fromBytes}, and the blocks it found
     * differing there are durable in the buffer (the caller synced it first). Durable on return.
     */
    public synchronized void owedCompareReached(long epochId, long fromBytes) throws IOException {
        OwedChunks.compareReached(file.getParent(), epochId, fromBytes);
    }

    /** The epoch that drained with {@link #drainOwed} completed (its end is durable): nothing is owed. */
    public synchronized void owedSettled() throws IOException {
        OwedChunks.settle(file.getParent());
    }

    /** What an epoch cut by the source's last stop still owed; null when none was cut (or its file is damaged). */
    public synchronized OwedChunks.Owed owedByACutEpoch() throws IOException {
        return OwedChunks.read(file.getParent());
    }

    /**
     * Takes the whole set for a copy that sends every chunk in it without asking the replicas
     * (a link that cannot compare, such as Kafka), and leaves it in place: the set is emptied only
     * by {@link #copied}, once the copy's end is durable, so a copy cut short (a crash, an error)
     * leaves every chunk for the next one. Marks made meanwhile are remembered.
     */
    public synchronized Snapshot snapshotForCopy() {
        markedDuringCopy = new long[16];
        allDuringCopy = false;
        return new Snapshot(chunkBytes, all, words.clone());
    }

    /**
     * The copy of {@code copiedSnapshot} (taken by {@link #snapshotForCopy}) is complete and its
     * RESYNC_END durable: its chunks leave the set, durably, except those marked
     * again during the copy. {@link #sinceSequence} becomes {@code beginSequence} only when
     * nothing was marked during the copy: a chunk marked then is a write the copy may not hold,
     * so a replica healed by the next copy is still one consistent at or after the old bound.
     */
    public synchronized void copied(Snapshot copiedSnapshot, long beginSequence) throws IOException {
        long[] again = markedDuringCopy;
        boolean allAgain = allDuringCopy;
        markedDuringCopy = null;
        allDuringCopy = false;
        if (again == null) {
            throw new IllegalStateException("copied without snapshotForCopy");
        }
        boolean markedAgain = allAgain;
        for (long w : again) {
            markedAgain |= w != 0;
        }
        if (!allAgain) {
            if (copiedSnapshot.all()) {
                all = false;
                cause = WholeVolumeCause.UNKNOWN;
                words = again.clone();
            } else {
                long[] copiedWords = copiedSnapshot.words();
                for (int i = 0; i < words.length; i++) {
                    long keep = i < again.length ? again[i] : 0;
                    long done = i < copiedWords.length ? copiedWords[i] : 0;
                    words[i] &= ~done | keep;
                }
            }
            count = 0;
            for (long w : words) {
                count += Long.bitCount(w);
            }
        }
        if (!markedAgain) {
            sinceSequence = beginSequence;
        }
        rewrite();
    }

    /**
     * Raises {@link #sinceSequence} to {@code sequence} (never lowers it), durably: the buffer lost
     * the records up to some sequence past it (a power cut), and only a replica that had applied
     * {@code sequence} is healed by this set's chunks; one further back needs every chunk.
     */
    public synchronized void requireSince(long sequence) throws IOException {
        if (sequence > sinceSequence) {
            sinceSequence = sequence;
            rewrite();
        }
    }

    /**
     * The buffer sequence since which this set holds every change the buffer did not carry: a
     * replica consistent at or after it is healed by comparing only the set's chunks.
     */
    public synchronized long sinceSequence() {
        return sinceSequence;
    }

    private void rewrite() throws IOException {
        ByteBuffer h = header(chunkBytes, all, cause, sinceSequence);
        byte[] bitmap = all ? new byte[0] : bitmapBytes(words, words.length);
        ByteBuffer content = ByteBuffer.allocate(HEADER_BYTES + bitmap.length);
        content.put(h).put(bitmap).flip();
        FileChannel old = channel;
        DurableFiles.replace(file, content);
        if (old != null) {
            old.close();
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        dirty = false;
    }

    /** The first {@code count} words of a bitmap as its bytes: bit i = bit (i mod 8) of byte i / 8 (this file's and {@link OwedChunks}'). */
    static byte[] bitmapBytes(long[] words, int count) {
        byte[] out = new byte[count * 8];
        for (int w = 0; w < count; w++) {
            for (int i = 0; i < 8; i++) {
                out[w * 8 + i] = (byte) (words[w] >>> (i * 8));
            }
        }
        return out;
    }

    /** The words of the {@code length}-byte bitmap at {@code at} in {@code buf}, at least {@code minWords} of them. */
    static long[] bitmapWords(ByteBuffer buf, int at, int length, int minWords) {
        long[] words = new long[Math.max(minWords, (length + 7) / 8)];
        for (int i = 0; i < length; i++) {
            words[i >>> 3] |= ((long) (buf.get(at + i) & 0xFF)) << ((i & 7) * 8);
        }
        return words;
    }

    @Override
    public synchronized void close() throws IOException {
        force();
        channel.close();
    }

    /**
     * Reads the tracked ranges of {@code dir} for another process: up to {@code max} coalesced
     * {@code [offset, length]} pairs in ascending order; one {@code [0, Long.MAX_VALUE]} when the
     * whole volume is tracked; empty when nothing is (or there is no file).
     */
    public static java.util.List<long[]> readRanges(Path dir, int max) throws IOException {
        java.util.List<long[]> out = new java.util.ArrayList<>();
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return out;
        }
        ByteBuffer buf = DurableFiles.readSmallFile(file, HEADER_BYTES + (64 << 20));
        if (check(buf) != null || (buf.getShort(6) & FLAG_ALL) != 0) {
            out.add(new long[] {0, Long.MAX_VALUE});
            return out;
        }
        long chunk = buf.getInt(8);
        for (int i = HEADER_BYTES; i < buf.limit() && out.size() <= max; i++) {
            int b = buf.get(i) & 0xFF;
            for (int bit = 0; b != 0 && bit < 8; bit++) {
                if ((b & (1 << bit)) != 0) {
                    long offset = ((long) (i - HEADER_BYTES) * 8 + bit) * chunk;
                    long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
                    if (last != null && last[0] + last[1] == offset) {
                        last[1] += chunk;
                    } else {
                        out.add(new long[] {offset, chunk});
                    }
                }
            }
        }
        return out.size() > max ? out.subList(0, max) : out;
    }

    /** Reads {@link #sinceSequence} of {@code dir} for another process, from the header alone (0 if no file or damaged). */
    public static long readSinceSequence(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return 0;
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        try (FileChannel ch = FileChannel.open(file)) {
            DurableFiles.readUpTo(ch, header, 0);
        }
        return check(header.flip()) != null ? 0 : header.getLong(12);
    }

    /**
     * What {@code dir}'s set holds, for another process, from one read of its file.
     *
     * @param count chunks tracked, {@code -1} for the whole volume, 0 when there is no file
     * @param cause why the whole volume is tracked ({@link WholeVolumeCause#SET_DAMAGED} for an
     *              unreadable header); null when it is not
     */
    public record Tracked(long count, WholeVolumeCause cause) {
    }

    /** Reads {@link Tracked} of {@code dir} for another process. */
    public static Tracked readTracked(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return new Tracked(0, null);
        }
        ByteBuffer buf = DurableFiles.readSmallFile(file, HEADER_BYTES + (64 << 20));
        if (check(buf) != null) {
            return new Tracked(-1, WholeVolumeCause.SET_DAMAGED);
        }
        if ((buf.getShort(6) & FLAG_ALL) != 0) {
            return new Tracked(-1, causeIn(buf));
        }
        long n = 0;
        for (int i = HEADER_BYTES; i < buf.limit(); i++) {
            n += Integer.bitCount(buf.get(i) & 0xFF);
        }
        return new Tracked(n, null);
    }

    /** Reads why the whole volume of {@code dir} is tracked, for another process ({@link Tracked#cause}). */
    public static WholeVolumeCause readWholeVolumeCause(Path dir) throws IOException {
        return readTracked(dir).cause();
    }

    /** Reads the number of tracked chunks of {@code dir} for another process ({@link Tracked#count}). */
    public static long readCount(Path dir) throws IOException {
        return readTracked(dir).count();
    }
}
