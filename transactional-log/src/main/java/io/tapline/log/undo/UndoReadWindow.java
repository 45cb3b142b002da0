package io.tapline.log.undo;

import com.sun.nio.file.ExtendedOpenOption;
import io.tapline.log.DirectAppender;
import io.tapline.log.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * The bytes of one stretch of an undo segment, read in one pread for the records a rollback
 * reads next. Rollbacks read newest first, so the stretch ends where the wanted record ends and
 * reaches back up to {@link #BYTES}: one 4 MiB read for a thousand 4 KiB before-images, not one
 * read each (a file read backwards gets no readahead: 21 s instead of 2 s for 1 GiB of 4 KiB
 * records). 16 MiB windows measured the same (medians of three: 1.29 s against 1.31 s).
 *
 * <p>Reads bypass the page cache (O_DIRECT, the stretch widened to whole blocks): undo segments
 * are appended with O_DIRECT, so nothing of them is cached, and a rollback reads each byte once.
 * Measured on this project's machine, reading 1 GiB backwards in 4 MiB steps took 0.81 s with
 * O_DIRECT and 1.07 s through the page cache, which also fills the cache with pages nobody reads
 * again; a rollback of 1 GiB took 1.83 s with the read-ahead reading through the page cache and
 * 1.31-1.40 s with O_DIRECT (docs/benchmarks.md#rollback-read-ahead). Where O_DIRECT is refused
 * (tmpfs), or with {@code -Dtapline.undo.directReads=off}, it reads through the page cache.
 *
 * <p>One per {@link UndoReadAhead}; not thread-safe (its reader thread uses it).
 */
final class UndoReadWindow implements Closeable {
    static final int BYTES = 4 << 20;
    /** O_DIRECT alignment of offsets, lengths and memory: 4096 serves 512- and 4096-byte sectors. */
    static final int BLOCK = 4096;
    static final boolean DIRECT_READS = !"off".equals(System.getProperty("tapline.undo.directReads", "on"));

    private final ByteBuffer buf = ByteBuffer.allocateDirect(BYTES + 3 * BLOCK).alignedSlice(BLOCK);
    private UndoSegment owner;
    /** O_DIRECT channel on the owner's file; null when reads go through the page cache. */
    private FileChannel direct;
    private long start;
    private int filled;

    /**
     * Record bytes {@code [pos, next)} of {@code s}, from this window (read now if needed).
     *
     * @throws UndoFormatException when the file ends before {@code next}, or the range is longer
     *         than any undo record (a damaged index)
     */
    ByteBuffer slice(UndoSegment s, long pos, long next) throws IOException {
        if (next - pos > BYTES || next <= pos) {
            throw new UndoFormatException("record of " + (next - pos) + " bytes at offset " + pos
                    + " (expected: 1 to " + BYTES + ") file=" + s.path());
        }
        if (owner != s || pos < start || next > start + filled) {
            fill(s, next);
        }
        return buf.duplicate().limit((int) (next - start)).position((int) (pos - start)).slice();
    }

    private void fill(UndoSegment s, long next) throws IOException {
        if (owner != s) {
            closeDirect();
            owner = s;
            direct = DIRECT_READS && !DirectAppender.refused(s.path()) ? openDirect(s) : null;
        }
        long from = Math.max(UndoSegment.HEADER_BYTES, next - BYTES);
        if (direct != null) {
            long aligned = from - from % BLOCK;
            try {
                filled = readDirect(aligned, next);
                start = aligned;
            } catch (IOException e) {
                closeDirect(); // refused at the first read on some file systems; a real I/O error comes back below
            }
        }
        if (direct == null) {
            buf.clear().limit((int) (next - from));
            filled = DurableFiles.readUpTo(s.channel(), buf, from);
            start = from;
        }
        if (start + filled < next) {
            throw new UndoFormatException("records before offset " + next + " are cut short (the file ends at "
                    + (start + filled) + ") file=" + s.path());
        }
    }

    /** Reads whole blocks from {@code alignedFrom} through the one holding {@code next - 1}; returns bytes read. */
    private int readDirect(long alignedFrom, long next) throws IOException {
        long alignedTo = (next + BLOCK - 1) / BLOCK * BLOCK;
        buf.clear().limit((int) (alignedTo - alignedFrom));
        int got = 0;
        while (alignedFrom + got < next) {
            int n = direct.read(buf, alignedFrom + got);
            if (n <= 0) {
                break; // the end of the file
            }
            got += n;
            if (got % BLOCK != 0) {
                break; // a short read ends only at the end of the file
            }
        }
        return got;
    }

    private static FileChannel openDirect(UndoSegment s) {
        try {
            return FileChannel.open(s.path(), StandardOpenOption.READ, ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return null; // tmpfs and friends: through the page cache
        }
    }

    private void closeDirect() throws IOException {
        if (direct != null) {
            FileChannel ch = direct;
            direct = null;
            ch.close();
        }
    }

    @Override
    public void close() throws IOException {
        owner = null;
        closeDirect();
    }
}
