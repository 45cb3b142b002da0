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
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The activity log of a capture buffer (DRBD's AL): the durable set of <i>hot</i> extents, those
 * where the primary volume and the buffer may disagree after a crash. An extent is made hot,
 * durably, before the first write into it is stored or applied to the primary; it stays hot while
 * a write into it is not yet safe (durable in the buffer and the primary, and in the write-once
 * mode acknowledged by every remote), and it leaves only as the least recently written safe
 * extent when a new one needs room. After an unclean stop the buffer tracks only the hot
 * extents' chunks ({@link ChangedChunks}) instead of every chunk, so the resync compares those.
 *
 * <p>Why: without it every kill -9 or power cut makes the resync read and compare the whole
 * volume on both sides. The price is one transaction (a write and an fdatasync of a few KiB) on
 * the capture thread each time writes reach extents that are not hot; with 1024 hot extents of 4 MiB
 * a host that keeps its writes within 4 GiB pays it only while warming up.
 *
 * <pre>
 * activity.log, two slots of slotBytes each; each slot, big-endian:
 * offset size field
 *  0      4   magic        0x544C414C ("TLAL")
 *  4      2   version      2 (1: no coldThrough, the bitmap at 32; still read)
 *  6      2   zero
 *  8      4   extentBytes  power of two
 * 12      4   slotBytes    multiple of 4096; slot 1 starts there
 * 16      8   transaction  the slot with the higher valid number is the log's state
 * 24      4   bitmapBytes
 * 28      4   crc32c       CRC-32C of bytes [0, 28) and of bytes [32, 40 + bitmapBytes)
 * 32      8   coldThrough  every write into an extent the bitmap does not name has a sequence <= it
 * 40      n   bitmap       bit (i mod 8) of byte 40 + i/8 = extent i hot
 * </pre>
 *
 * <p>{@code coldThrough} starts at the last record the buffer carries when the log is started
 * (an earlier run's writes are all in cold extents; none after a power cut took the records, whose
 * writes the changed-chunk set holds) and rises to the last write of every extent
 * a transaction evicts. So after a power cut that took records (a write-once buffer's), a
 * replica that had applied every record through it is healed by comparing the hot extents
 * alone: every record it misses wrote into one.
 *
 * <p>Transaction {@code n} overwrites slot {@code n mod 2} in place, only the 4 KiB pages that
 * differ from what the slot held, and fdatasyncs: a cut leaves it torn (its CRC fails) and the
 * other slot, the previous transaction, intact. A write that
 * relies on transaction {@code n} starts only after its fdatasync returned, so the previous
 * state covers every write a torn transaction could have let through. Growing the bitmap past a
 * slot replaces the file atomically with larger slots. No valid slot at all is read as "every
 * chunk".
 *
 * <p>Not thread-safe: the buffer calls it under its writer lock ({@link #hotCount} may be read
 * from any thread).
 */
final class ActivityLog implements Closeable {
    /** File name inside the buffer's volume directory. */
    static final String FILE = "activity.log";
    static final int MAGIC = 0x544C414C;
    static final short VERSION = 2;
    static final int HEADER_BYTES = 40;
    /** Where version 1's bitmap starts (it has no coldThrough). */
    private static final int V1_HEADER_BYTES = 32;
    private static final int CRC_AT = 28;
    private static final int COLD_THROUGH_AT = 32;
    private static final int PAGE = 4096;
    /** The highest extent index the log tracks: 2^26 extents (256 TiB at 4 MiB), an 8 MiB bitmap. */
    static final int MAX_EXTENTS = 1 << 26;
    /**
     * {@code -Dtapline.activityLog.wholeSlots=true} writes every transaction's slot whole, as before
     * transactions wrote only their changed pages (to measure the difference: ActivityLogBench).
     */
    private static final boolean WHOLE_SLOTS = Boolean.getBoolean("tapline.activityLog.wholeSlots");
    /** Two slots of the largest bitmap, doubled from 4 KiB: 2 x 16 MiB. */
    private static final int MAX_FILE_BYTES = 32 << 20;

    private final Path file;
    private final int extentBytes;
    private final int shift;
    private final int capacity;
    private FileChannel channel;
    private int slotBytes;
    private long transaction;
    /** Every write into an extent that is not hot has a sequence at or below it (durable in the newest slot). */
    private volatile long coldThrough;
    /** Extent index to the last sequence written into it (0: not hot); grows with the highest extent written. */
    private long[] lastSequence = new long[64];
    private int[] hot = new int[64];
    private volatile int hotCount;
    private volatile long transactions;
    /** Each slot's bytes as last written and made durable (null: unknown, written whole next time). */
    private final byte[][] written = new byte[2][];
    private long pagesWritten;

    /** A write into a range, made hot with the sequence it has or will have. */
    record Touch(long offsetBytes, long lengthBytes, long sequence) {
    }

    /**
     * What an earlier run left: its hot extents, or the reason none can be trusted; and the
     * sequence every write into another extent is at or below ({@code coldThrough}, -1 when the
     * log is of version 1 and does not say).
     */
    record Recovered(int extentBytes, int[] extents, long coldThrough, String problem) {
        boolean readable() {
            return problem == null;
        }

        long hotBytes() {
            return (long) extents.length * extentBytes;
        }
    }

    private ActivityLog(Path file, ActivityLogConfig config) {
        this.file = file;
        this.extentBytes = config.extentBytes();
        this.shift = Integer.numberOfTrailingZeros(extentBytes);
        this.capacity = config.hotExtents();
    }

    /**
     * Starts an empty log in {@code dir}, replacing what an earlier run left (durable on return).
     * {@code lastSequence} is the newest record the buffer holds: every write before the log
     * started is in an extent that is not hot.
     */
    static ActivityLog start(Path dir, ActivityLogConfig config, long lastSequence) throws IOException {
        if (!config.enabled()) {
            throw new IllegalArgumentException("hotExtents: 0 (expected: an enabled activity log)");
        }
        ActivityLog log = new ActivityLog(dir.resolve(FILE), config);
        log.slotBytes = PAGE;
        log.replaceFile(new int[0], 1, Math.max(0, lastSequence));
        return log;
    }

    /** Deletes the log of {@code dir}, durably (a buffer run without one must not leave a stale set behind). */
    static void remove(Path dir) throws IOException {
        if (Files.deleteIfExists(dir.resolve(FILE))) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /** The set an earlier run left in {@code dir}, or null when it kept no log. */
    static Recovered read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        ByteBuffer all = DurableFiles.readSmallFile(file, MAX_FILE_BYTES);
        ByteBuffer best = null;
        String problem = slotProblem(all, 0);
        if (problem == null) {
            best = slot(all, 0);
            int second = all.getInt(12);
            if (slotProblem(all, second) == null && all.getLong(second + 16) > best.getLong(16)) {
                best = slot(all, second);
            }
        } else {
            for (int at = PAGE; at + V1_HEADER_BYTES <= all.limit(); at += PAGE) {
                if (slotProblem(all, at) == null && all.getInt(at + 12) == at) {
                    best = slot(all, at);
                    break;
                }
            }
        }
        if (best == null) {
            return new Recovered(0, new int[0], -1, "no slot passes its check (first: " + problem + ")");
        }
        int bitmapBytes = best.getInt(24);
        int header = headerBytes(best, 0);
        int[] extents = new int[countBits(best, header, bitmapBytes)];
        int n = 0;
        for (int i = 0; i < bitmapBytes; i++) {
            int b = best.get(header + i) & 0xFF;
            for (int bit = 0; b != 0 && bit < 8; bit++) {
                if ((b & (1 << bit)) != 0) {
                    extents[n++] = i * 8 + bit;
                }
            }
        }
        long coldThrough = header == HEADER_BYTES ? best.getLong(COLD_THROUGH_AT) : -1;
        return new Recovered(best.getInt(8), extents, coldThrough, null);
    }

    /** Where the bitmap of the slot at {@code at} starts: its version's header size. */
    private static int headerBytes(ByteBuffer all, int at) {
        return (all.getShort(at + 4) & 0xFFFF) == 1 ? V1_HEADER_BYTES : HEADER_BYTES;
    }

    private static int countBits(ByteBuffer slot, int header, int bitmapBytes) {
        int n = 0;
        for (int i = 0; i < bitmapBytes; i++) {
            n += Integer.bitCount(slot.get(header + i) & 0xFF);
        }
        return n;
    }

    private static ByteBuffer slot(ByteBuffer all, int at) {
        return all.duplicate().position(at).slice();
    }

    /** Why the slot at {@code at} cannot be trusted, or null. */
    private static String slotProblem(ByteBuffer all, int at) {
        if (at < 0 || at + V1_HEADER_BYTES > all.limit()) {
            return "slot at " + at + ": beyond the file's " + all.limit() + " bytes";
        }
        if (all.getInt(at) != MAGIC) {
            return String.format("slot at %d: magic 0x%08x (expected: 0x%08x)", at, all.getInt(at), MAGIC);
        }
        int version = all.getShort(at + 4) & 0xFFFF;
        if (version != VERSION && version != 1) {
            return "slot at " + at + ": version " + version + " (expected: 1 or " + VERSION + ")";
        }
        int header = headerBytes(all, at);
        int bitmapBytes = all.getInt(at + 24);
        if (bitmapBytes < 0 || at + header + (long) bitmapBytes > all.limit()) {
            return "slot at " + at + ": bitmap of " + bitmapBytes + " bytes beyond the file";
        }
        CRC32C crc = new CRC32C();
        crc.update(all.duplicate().position(at).limit(at + CRC_AT));
        crc.update(all.duplicate().position(at + V1_HEADER_BYTES).limit(at + header + bitmapBytes));
        if ((int) crc.getValue() != all.getInt(at + CRC_AT)) {
            return "slot at " + at + ": crc32c mismatch";
        }
        int eb = all.getInt(at + 8);
        if (eb < 4096 || Integer.bitCount(eb) != 1) {
            return "slot at " + at + ": extentBytes " + eb + " (expected: a power of two >= 4096)";
        }
        return null;
    }

    /** Whether every extent of the range is hot: a write there needs no transaction. */
    boolean covers(long offsetBytes, long lengthBytes) {
        if (lengthBytes <= 0) {
            return true;
        }
        long first = offsetBytes >>> shift;
        long last = (offsetBytes + lengthBytes - 1) >>> shift;
        if (offsetBytes < 0 || last >= lastSequence.length) {
            return false;
        }
        for (long e = first; e <= last; e++) {
            if (lastSequence[(int) e] == 0) {
                return false;
            }
        }
        return true;
    }

    /** Whether every touch is {@link #covers covered}: admitting them needs no transaction. */
    boolean coversAll(List<Touch> touches) {
        for (Touch t : touches) {
            if (!covers(t.offsetBytes(), t.lengthBytes())) {
                return false;
            }
        }
        return true;
    }

    /** Notes a write into a range that {@link #covers} (its extents stay hot until it is safe). */
    void touch(long offsetBytes, long lengthBytes, long sequence) {
        if (lengthBytes <= 0) {
            return;
        }
        long first = offsetBytes >>> shift;
        long last = (offsetBytes + lengthBytes - 1) >>> shift;
        for (long e = first; e <= last && e < lastSequence.length; e++) {
            if (lastSequence[(int) e] != 0 && lastSequence[(int) e] < sequence) {
                lastSequence[(int) e] = sequence;
            }
        }
    }

    /**
     * Makes every extent the touches reach hot, durably, before it returns: one transaction for
     * all extents not hot yet, which also evicts the least recently written extents whose last
     * write is at or below {@code safeThrough} while more than the configured number are hot. The
     * touches are then noted ({@link #touch}). Nothing changes when the transaction fails.
     *
     * @throws IOException when the transaction could not be made durable
     */
    void admit(List<Touch> touches, long safeThrough) throws IOException {
        if (coversAll(touches)) { // the common case, once per write: no transaction, nothing allocated
            for (Touch t : touches) {
                touch(t.offsetBytes(), t.lengthBytes(), t.sequence());
            }
            return;
        }
        java.util.BitSet cold = new java.util.BitSet();
        for (Touch t : touches) {
            if (t.lengthBytes() <= 0) {
                continue;
            }
            if (t.offsetBytes() < 0 || t.lengthBytes() > (1L << 50) || t.offsetBytes() > (1L << 50)) {
                throw new IOException("range offset=" + t.offsetBytes() + " length=" + t.lengthBytes()
                        + " (expected: within the activity log's reach) file=" + file);
            }
            long first = t.offsetBytes() >>> shift;
            long last = (t.offsetBytes() + t.lengthBytes() - 1) >>> shift;
            if (last >= MAX_EXTENTS) {
                throw new IOException("extent " + last + " (expected: < " + MAX_EXTENTS + ", " + ((long) MAX_EXTENTS
                        * extentBytes) + " bytes at extents of " + extentBytes + ") file=" + file);
            }
            for (int x = (int) first; x <= last; x++) {
                if (x >= lastSequence.length || lastSequence[x] == 0) {
                    cold.set(x);
                }
            }
        }
        int[] incoming = cold.stream().toArray();
        int incomingCount = incoming.length;
        if (incomingCount > 0) {
            NextHotSet nextSet = nextHotSet(incoming, incomingCount, safeThrough);
            int[] next = nextSet.extents();
            int max = 0;
            for (int e : next) {
                max = Math.max(max, e);
            }
            writeTransaction(next, nextSet.coldThrough());
            long[] kept = new long[next.length];
            for (int i = 0; i < next.length; i++) {
                kept[i] = next[i] < lastSequence.length ? lastSequence[next[i]] : 0;
            }
            if (max >= lastSequence.length) {
                lastSequence = Arrays.copyOf(lastSequence, Math.max(max + 1, lastSequence.length * 2));
            }
            for (int i = 0; i < hotCount; i++) {
                lastSequence[hot[i]] = 0; // evicted, unless it is in next
            }
            for (int i = 0; i < next.length; i++) {
                lastSequence[next[i]] = Math.max(1, kept[i]);
            }
            hot = next;
            hotCount = next.length;
        }
        for (Touch t : touches) {
            touch(t.offsetBytes(), t.lengthBytes(), t.sequence());
        }
    }

    /**
     * The hot set after admitting {@code incoming}: evicts safe extents, least recently written
     * first, down to the capacity (fewer when not enough are safe). Runs once per transaction, so
     * it sorts primitives only: the safe extents' last sequences, to find the eviction threshold.
     * Its {@code coldThrough} is this log's, raised to the newest write an evicted extent holds.
     */
    private NextHotSet nextHotSet(int[] incoming, int incomingCount, long safeThrough) {
        long newColdThrough = coldThrough;
        int over = hotCount + incomingCount - capacity;
        long threshold = Long.MIN_VALUE; // evict safe extents written at or before it
        int atThreshold = 0; // ... of those written exactly at it, only this many
        if (over > 0) {
            long[] safe = new long[hotCount];
            int n = 0;
            for (int i = 0; i < hotCount; i++) {
                long last = lastSequence[hot[i]];
                if (last <= safeThrough) {
                    safe[n++] = last;
                }
            }
            if (n > 0) {
                Arrays.sort(safe, 0, n);
                int evictions = Math.min(over, n);
                threshold = safe[evictions - 1];
                for (int i = evictions - 1; i >= 0 && safe[i] == threshold; i--) {
                    atThreshold++;
                }
                newColdThrough = Math.max(newColdThrough, threshold);
            }
        }
        int[] next = new int[hotCount + incomingCount];
        int n = 0;
        for (int i = 0; i < hotCount; i++) {
            long last = lastSequence[hot[i]];
            if (last < threshold || (last == threshold && atThreshold-- > 0)) {
                continue; // evicted
            }
            next[n++] = hot[i];
        }
        System.arraycopy(incoming, 0, next, n, incomingCount);
        return new NextHotSet(Arrays.copyOf(next, n + incomingCount), newColdThrough);
    }

    /** A transaction's hot set, and the coldThrough its evictions leave. */
    private record NextHotSet(int[] extents, long coldThrough) {
    }

    private void writeTransaction(int[] extents, long newColdThrough) throws IOException {
        long next = transaction + 1;
        byte[] now = encode(extents, next, newColdThrough).array();
        if (now.length > slotBytes) {
            replaceFile(extents, next, newColdThrough);
            return;
        }
        int index = (int) (next & 1);
        byte[] was = WHOLE_SLOTS ? null : written[index];
        written[index] = null; // unknown on disk until the transaction is durable
        writeChangedPages(now, was, (long) index * slotBytes);
        channel.force(false);
        written[index] = now;
        coldThrough = newColdThrough;
        transaction = next;
        transactions++;
    }

    /**
     * Writes the 4 KiB pages of a slot (at {@code base}) that differ from what it held ({@code was},
     * or everything when unknown): a transaction of a large volume's bitmap writes its header page
     * and the pages whose extents changed, not the whole bitmap. A cut between the pages leaves the
     * slot failing its CRC (the header's CRC covers the whole bitmap), as a torn single write did.
     */
    private void writeChangedPages(byte[] now, byte[] was, long base) throws IOException {
        int runStart = -1;
        for (int from = 0; from < now.length; from += PAGE) {
            int to = Math.min(now.length, from + PAGE);
            boolean changed = was == null || !Arrays.equals(now, from, to, was, Math.min(from, was.length),
                    Math.min(to, was.length));
            if (changed && runStart < 0) {
                runStart = from;
            } else if (!changed && runStart >= 0) {
                writeRun(now, runStart, from, base);
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            writeRun(now, runStart, now.length, base);
        }
    }

    private void writeRun(byte[] slot, int from, int to, long base) throws IOException {
        DurableFiles.writeFully(channel, ByteBuffer.wrap(slot, from, to - from), base + from);
        pagesWritten += (to - from + PAGE - 1) / PAGE;
    }

    /** Writes the whole file anew (creation, or a bitmap grown past a slot): both slots hold the set. */
    private void replaceFile(int[] extents, long txn, long newColdThrough) throws IOException {
        ByteBuffer newer = encode(extents, txn, newColdThrough);
        ByteBuffer older = encode(extents, txn - 1, newColdThrough);
        int size = slotBytes;
        while (size < newer.remaining()) {
            size *= 2;
        }
        ByteBuffer content = ByteBuffer.allocate(2 * size);
        content.put((int) (txn & 1) * size, newer, 0, newer.remaining());
        content.put((int) ((txn - 1) & 1) * size, older, 0, older.remaining());
        content.putInt(12, size).putInt(size + 12, size);
        // slotBytes is inside each slot's CRC: re-seal both with the final size.
        seal(content, 0);
        seal(content, size);
        if (channel != null) {
            channel.close();
            channel = null;
        }
        DurableFiles.replace(file, content);
        channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        int newerAt = (int) (txn & 1) * size;
        int olderAt = (int) ((txn - 1) & 1) * size;
        written[(int) (txn & 1)] = Arrays.copyOfRange(content.array(), newerAt, newerAt + newer.remaining());
        written[(int) ((txn - 1) & 1)] = Arrays.copyOfRange(content.array(), olderAt, olderAt + older.remaining());
        pagesWritten += 2L * size / PAGE;
        coldThrough = newColdThrough;
        slotBytes = size;
        transaction = txn;
        transactions++;
    }

    private ByteBuffer encode(int[] extents, long txn, long coldThroughOfSlot) {
        int max = -1;
        for (int e : extents) {
            max = Math.max(max, e);
        }
        int bitmapBytes = max < 0 ? 0 : max / 8 + 1;
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + bitmapBytes);
        b.putInt(MAGIC).putShort(VERSION).putShort((short) 0).putInt(extentBytes).putInt(slotBytes).putLong(txn)
                .putInt(bitmapBytes).putInt(0).putLong(coldThroughOfSlot);
        for (int e : extents) {
            int at = HEADER_BYTES + e / 8;
            b.put(at, (byte) (b.get(at) | (1 << (e & 7))));
        }
        seal(b, 0);
        return b.position(0);
    }

    private static void seal(ByteBuffer b, int at) {
        int bitmapBytes = b.getInt(at + 24);
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(at).limit(at + CRC_AT));
        crc.update(b.duplicate().position(at + V1_HEADER_BYTES).limit(at + HEADER_BYTES + bitmapBytes));
        b.putInt(at + CRC_AT, (int) crc.getValue());
    }

    /** Every write into an extent that is not hot has a sequence at or below this one. */
    long coldThrough() {
        return coldThrough;
    }

    /** Extents hot now. */
    int hotCount() {
        return hotCount;
    }

    /** Bytes a resync would compare after a crash now. */
    long hotBytes() {
        return (long) hotCount * extentBytes;
    }

    /** What a resync would compare after a crash now ({@link #compareBytesAfterCrash}). */
    long compareBytesAfterCrash(boolean writeOnce) {
        return compareBytesAfterCrash(hotBytes(), extentBytes, writeOnce);
    }

    /**
     * What a resync would compare after a crash: the hot extents; for a write-once buffer at least
     * one extent, which its reopen tracks when none is hot so that a comparison runs (the power
     * cut's flagged GAP leaves every replica out of sync, and only a comparison heals one).
     */
    static long compareBytesAfterCrash(long hotBytes, long extentBytes, boolean writeOnce) {
        return writeOnce ? Math.max(hotBytes, extentBytes) : hotBytes;
    }

    /** 4 KiB pages written by this run's transactions (a transaction writes only the pages that changed). */
    long pagesWritten() {
        return pagesWritten;
    }

    /** Transactions written by this run (including the one that started it). */
    long transactions() {
        return transactions;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
