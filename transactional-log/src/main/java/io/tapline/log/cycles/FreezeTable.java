package io.tapline.log.cycles;

import io.tapline.log.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.zip.CRC32C;

/**
 * The freeze table of one auxiliary layer: which blocks of the volume the layer holds (its
 * {@code .aux} file holds block N at byte N x blockBytes, sparse). A block not in the table is read
 * from the layers below.
 *
 * <h2>File</h2>
 * A 4 KiB header (magic {@code TPLFRZ01}, format version 1, block size, volume size, cycle number,
 * CRC32C of those 32 bytes), then the bitmap: bit {@code b % 64} of little-endian word
 * {@code b / 64} is block {@code b}. The file is created whole under a temporary name and renamed,
 * so a header is never torn.
 *
 * <h2>Durability without a journal</h2>
 * A bit only ever goes from 0 to 1 in a table's life (a layer is only written, then frozen, then
 * merged and deleted). {@link #persist} writes the dirty 4 KiB pages of the bitmap in place and
 * fdatasyncs; a power cut in the middle leaves each page with some subset of its new bits, which is
 * a subset of the writes since the last completed persist: writes the host had not flushed yet, so
 * losing them is what a disk may do. A bit set in the file always names a block whose data was made
 * durable first (see {@link LayeredVolume#force}).
 *
 * <p>Thread-safe: {@link #set} from the writer, {@link #contains} from any reader, {@link #persist}
 * from the flusher.
 */
public final class FreezeTable implements Closeable {
    static final int HEADER_BYTES = 4096;
    static final int PAGE_BYTES = 4096;
    private static final int WORDS_PER_PAGE = PAGE_BYTES / Long.BYTES;
    private static final long MAGIC = 0x31305A5246504C54L; // "TPLFRZ01" little-endian
    private static final int VERSION = 1;

    private final Path path;
    private final FileChannel channel;
    private final int blockBytes;
    private final long sizeBytes;
    private final long cycle;
    private final long createdAtMillis;
    private final long blocks;
    private final AtomicLongArray words;
    private final BitSet dirtyPages = new BitSet();
    private final java.util.concurrent.atomic.AtomicLong count = new java.util.concurrent.atomic.AtomicLong();

    private FreezeTable(Path path, FileChannel channel, int blockBytes, long sizeBytes, long cycle,
            long createdAtMillis, AtomicLongArray words) {
        this.createdAtMillis = createdAtMillis;
        this.path = path;
        this.channel = channel;
        this.blockBytes = blockBytes;
        this.sizeBytes = sizeBytes;
        this.cycle = cycle;
        this.blocks = (sizeBytes + blockBytes - 1) / blockBytes;
        this.words = words;
        long n = 0;
        for (int i = 0; i < words.length(); i++) {
            n += Long.bitCount(words.get(i));
        }
        count.set(n);
    }

    /**
     * Creates an empty table durably (temporary file, fsync, rename, fsync of the directory);
     * {@code createdAtMillis} is kept in the header (the freeze instant of the layer below it).
     */
    public static FreezeTable create(Path path, long cycle, int blockBytes, long sizeBytes, long createdAtMillis)
            throws IOException {
        long blocks = (sizeBytes + blockBytes - 1) / blockBytes;
        long wordCount = (blocks + 63) / 64;
        Path tmp = path.resolveSibling(path.getFileName() + DurableFiles.TEMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            DurableFiles.writeFully(ch, header(cycle, blockBytes, sizeBytes, createdAtMillis), 0);
            long length = HEADER_BYTES + pagesFor(wordCount) * (long) PAGE_BYTES;
            if (length > HEADER_BYTES) {
                DurableFiles.writeFully(ch, ByteBuffer.allocate(1), length - 1); // the bitmap reads as zeros
            }
            ch.force(true);
        }
        java.nio.file.Files.move(tmp, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        DurableFiles.syncDirectory(path.toAbsolutePath().getParent());
        return open(path, blockBytes, sizeBytes);
    }

    /**
     * Opens a table written by {@link #create}.
     *
     * @throws IOException naming the file when its header is not a freeze table of this volume
     */
    public static FreezeTable open(Path path, int blockBytes, long sizeBytes) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            ByteBuffer h = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
            if (DurableFiles.readUpTo(ch, h, 0) < 48) {
                throw new IOException(path + ": not a freeze table (" + ch.size() + " bytes)");
            }
            h.flip();
            CRC32C crc = new CRC32C();
            crc.update(h.array(), 0, 32);
            long magic = h.getLong(0);
            int version = h.getInt(8);
            int fileBlock = h.getInt(12);
            long fileSize = h.getLong(16);
            long cycle = h.getLong(24);
            if (magic != MAGIC || (int) crc.getValue() != h.getInt(32)) {
                throw new IOException(path + ": not a freeze table (bad magic or header checksum)");
            }
            if (version != VERSION) {
                throw new IOException(path + ": freeze table version " + version + " (this build reads " + VERSION + ")");
            }
            if (fileBlock != blockBytes || fileSize != sizeBytes) {
                throw new IOException(path + ": freeze table of a " + fileSize + "-byte volume in " + fileBlock
                        + "-byte blocks (expected: " + sizeBytes + " in " + blockBytes + ")");
            }
            long blocks = (sizeBytes + blockBytes - 1) / blockBytes;
            int wordCount = Math.toIntExact((blocks + 63) / 64);
            ByteBuffer bitmap = ByteBuffer.allocate(wordCount * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            DurableFiles.readUpTo(ch, bitmap, HEADER_BYTES); // a short file reads as zeros past its end
            AtomicLongArray words = new AtomicLongArray(wordCount);
            for (int i = 0; i < wordCount; i++) {
                words.set(i, bitmap.getLong(i * Long.BYTES));
            }
            long tail = blocks % 64;
            if (tail != 0 && wordCount > 0 && (words.get(wordCount - 1) >>> tail) != 0) {
                throw new IOException(path + ": freeze table names blocks past the end of the volume");
            }
            return new FreezeTable(path, ch, blockBytes, sizeBytes, cycle, h.getLong(40), words);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static ByteBuffer header(long cycle, int blockBytes, long sizeBytes, long createdAtMillis) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, MAGIC).putInt(8, VERSION).putInt(12, blockBytes).putLong(16, sizeBytes).putLong(24, cycle)
                .putLong(40, createdAtMillis);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, 32);
        h.putInt(32, (int) crc.getValue());
        return h;
    }

    private static long pagesFor(long wordCount) {
        return (wordCount + WORDS_PER_PAGE - 1) / WORDS_PER_PAGE;
    }

    /** The file. */
    public Path path() {
        return path;
    }

    /** The cycle this layer took the writes of. */
    public long cycle() {
        return cycle;
    }

    /** When the table was created (epoch milliseconds; 0 if unknown): the freeze instant of the layer below it. */
    public long createdAtMillis() {
        return createdAtMillis;
    }

    /** Blocks in the volume. */
    public long blocks() {
        return blocks;
    }

    /** Whether the layer holds {@code block}. */
    public boolean contains(long block) {
        return (words.get((int) (block >>> 6)) & (1L << block)) != 0;
    }

    /** Records that the layer holds blocks {@code [first, last]} (in memory until {@link #persist}). */
    public void set(long first, long last) {
        for (int w = (int) (first >>> 6); w <= (int) (last >>> 6); w++) { // a word at a time: 64 blocks
            long from = Math.max(first, (long) w << 6);
            long to = Math.min(last, ((long) w << 6) + 63);
            long mask = (-1L >>> (63 - (to - from))) << from;
            long old = words.getAndAccumulate(w, mask, (a, m) -> a | m);
            long added = mask & ~old;
            if (added != 0) {
                count.addAndGet(Long.bitCount(added));
                synchronized (dirtyPages) {
                    dirtyPages.set(w / WORDS_PER_PAGE);
                }
            }
        }
    }

    /** The first block at or after {@code from} the layer holds, or -1. */
    public long next(long from) {
        int w = (int) (from >>> 6);
        if (w >= words.length()) {
            return -1;
        }
        long word = words.get(w) & (-1L << from);
        while (true) {
            if (word != 0) {
                long b = ((long) w << 6) + Long.numberOfTrailingZeros(word);
                return b < blocks ? b : -1;
            }
            if (++w >= words.length()) {
                return -1;
            }
            word = words.get(w);
        }
    }

    /** How many blocks the layer holds. */
    public long count() {
        return count.get();
    }

    /** The dirty pages with their words as of now; {@link #persist} writes them. */
    public Pages takeDirty() {
        BitSet pages;
        synchronized (dirtyPages) {
            pages = (BitSet) dirtyPages.clone();
            dirtyPages.clear();
        }
        ByteBuffer[] content = new ByteBuffer[pages.cardinality()];
        int k = 0;
        for (int p = pages.nextSetBit(0); p >= 0; p = pages.nextSetBit(p + 1)) {
            ByteBuffer page = ByteBuffer.allocate(PAGE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            int from = p * WORDS_PER_PAGE;
            for (int i = from; i < Math.min(words.length(), from + WORDS_PER_PAGE); i++) {
                page.putLong((i - from) * Long.BYTES, words.get(i));
            }
            content[k++] = page;
        }
        return new Pages(pages, content);
    }

    /** Dirty bitmap pages taken at one instant. */
    public record Pages(BitSet indexes, ByteBuffer[] content) {
        /** Whether there is nothing to write. */
        public boolean isEmpty() {
            return indexes.isEmpty();
        }
    }

    /**
     * Writes {@code pages} in place and fdatasyncs the table. On failure the pages count as dirty
     * again, so the next persist retries them.
     */
    public void persist(Pages pages) throws IOException {
        if (pages.isEmpty()) {
            return;
        }
        try {
            int k = 0;
            for (int p = pages.indexes().nextSetBit(0); p >= 0; p = pages.indexes().nextSetBit(p + 1)) {
                DurableFiles.writeFully(channel, pages.content()[k++].duplicate(), HEADER_BYTES + (long) p * PAGE_BYTES);
            }
            channel.force(false);
        } catch (IOException | RuntimeException e) {
            synchronized (dirtyPages) {
                dirtyPages.or(pages.indexes());
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return "FreezeTable[" + path + ", cycle " + cycle + "]";
    }
}
