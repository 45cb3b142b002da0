package io.tapline.log.buffer;

import io.tapline.log.AlignedStaging;
import io.tapline.log.DirectAppender;
import io.tapline.log.DurableFiles;
import io.tapline.log.RetiredFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One segment file of a capture buffer: a {@link SegmentHeader} followed by records. The writer
 * appends to the active segment and publishes the new size and last sequence; readers use their
 * own channels and never read past {@link #publishedSizeBytes()}.
 *
 * <p>Small records go with gathering writes into the page cache. Large ones (see
 * {@link DirectAppender}) go with O_DIRECT from an aligned staging buffer: writing into fresh
 * page-cache pages costs more than the disk write itself on a virtual machine (every new page is
 * a first touch), and a buffer's bytes are written once and read back at most once. A direct
 * write covers whole blocks, so the file may end in zero padding past the last record until the
 * next append overwrites it or {@link #finishAppending} cuts it; recovery reads such a tail as
 * zeros after the last record and trims it like a torn tail.
 *
 * <p>Publication order (what makes reads untorn): the bytes are written, then
 * {@code publishedSizeBytes}, then (by the buffer) the last sequence; {@link #seal} is set only
 * after the final size is published. A reader that sees {@code sealed} re-reads the size.
 *
 * <p>A sealed segment whose bytes are durable gives its descriptor back ({@link #release}): a
 * source keeps every segment a remote has not acknowledged, and one open file per 64 MiB of
 * buffer ran a wedge out of descriptors while its replayer was stopped (probe V D1: its host got
 * EIO). Nothing writes a released segment again; readers open their own channels.
 *
 * <p>Thread-safety: {@link #append} and {@link #truncateTo} by the buffer's writer only (under
 * the buffer's lock); {@link #force} from any thread; the published fields are volatile.
 */
final class CaptureSegment implements Closeable {
    private final Path path;
    private final long baseSequence;
    private final int headerBytes;
    private volatile FileChannel channel;
    private volatile long publishedSizeBytes;
    private volatile long lastSequence;
    private volatile boolean sealed;
    private volatile boolean deleted;
    /** Sealed, durable and without a descriptor: {@link #force} has nothing left to do. */
    private volatile boolean released;
    private long directMinBytes = Long.MAX_VALUE;
    private DirectAppender direct;
    private AlignedStaging staging = new AlignedStaging();
    /** Why the first direct write of the current append failed, while the buffered path retries it. */
    private IOException firstDirectFailure;
    private boolean padded;

    private CaptureSegment(Path path, long baseSequence, int headerBytes, FileChannel channel, long sizeBytes,
            long lastSequence) {
        this.path = path;
        this.baseSequence = baseSequence;
        this.headerBytes = headerBytes;
        this.channel = channel;
        this.publishedSizeBytes = sizeBytes;
        this.lastSequence = lastSequence;
    }

    /** Creates a new, empty segment whose first record will be {@code baseSequence}. */
    static CaptureSegment create(Path dir, long baseSequence, String volumeId) throws IOException {
        Path path = dir.resolve(SegmentNames.segmentName(baseSequence));
        SegmentHeader header = new SegmentHeader(baseSequence, volumeId);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            DurableFiles.writeFully(ch, header.encode(), 0);
            ch.position(header.sizeBytes());
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(path);
            throw e;
        }
        return new CaptureSegment(path, baseSequence, header.sizeBytes(), ch, header.sizeBytes(), baseSequence - 1);
    }

    /**
     * A recovered segment that is not the last one: sealed, and never written again, so it holds no
     * descriptor ({@link #release}).
     */
    static CaptureSegment openSealed(SegmentRecovery.Loaded loaded) {
        CaptureSegment s = new CaptureSegment(loaded.path(), loaded.baseSequence(), loaded.headerBytes(), null,
                loaded.sizeBytes(), loaded.lastSequence());
        s.sealed = true;
        s.released = true;
        return s;
    }

    /** Opens a recovered segment; the writer appends after {@code sizeBytes}. */
    static CaptureSegment open(SegmentRecovery.Loaded loaded) throws IOException {
        FileChannel ch = FileChannel.open(loaded.path(), StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            ch.position(loaded.sizeBytes());
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new CaptureSegment(loaded.path(), loaded.baseSequence(), loaded.headerBytes(), ch, loaded.sizeBytes(),
                loaded.lastSequence());
    }

    /**
     * Appends one encoded record (header and payload buffers, written with one gathering write)
     * and publishes it. On failure the file is cut back to the last whole record.
     */
    void append(ByteBuffer[] record, long sequence, long recordBytes) throws IOException {
        append(record, sequence, recordBytes, recordBytes);
    }

    /**
     * Appends several encoded records with one write and publishes them together ({@code sequence}
     * is the last one's). They go with O_DIRECT when the largest of them would alone: a run of
     * small records stays in the page cache, where one small write costs less than a direct one.
     */
    void append(ByteBuffer[] record, long sequence, long recordBytes, long largestRecordBytes) throws IOException {
        FileChannel ch = channel;
        try {
            if (!(largestRecordBytes >= directMinBytes && appendedDirect(ch, record, recordBytes))) {
                ByteBuffer last = record[record.length - 1];
                while (last.hasRemaining() || record[0].hasRemaining()) {
                    ch.write(record);
                }
                if (firstDirectFailure != null) {
                    // The same bytes went through the page cache: O_DIRECT itself is refused here
                    // (not ENOSPC or EIO, which the buffered write would have thrown too).
                    DirectAppender.refuse(path, firstDirectFailure);
                    closeDirect();
                    direct = null;
                }
            }
        } catch (IOException e) {
            restore();
            throw e;
        } finally {
            firstDirectFailure = null;
        }
        publishedSizeBytes += recordBytes;
        lastSequence = sequence;
    }

    /**
     * The writer leaves this segment (rolled or closed): cuts the zero padding a direct append
     * left past the last record, so that the file ends exactly at its last record, and frees the
     * direct appender's staging buffer (a buffer may retain hundreds of sealed segments).
     */
    void finishAppending() throws IOException {
        if (padded) {
            channel.truncate(publishedSizeBytes);
            padded = false;
        }
        closeDirect();
        direct = null;
    }

    /**
     * Appends with O_DIRECT when this file system takes it. When the first direct write fails,
     * the record is left to the buffered path ({@link #firstDirectFailure} says why): if that
     * write succeeds, O_DIRECT itself is refused here (a file system that opens O_DIRECT but
     * refuses the I/O) and direct appends are turned off for the directory; if it fails too, the
     * disk failed (ENOSPC, EIO) and direct appends stay on. Later failures are I/O errors.
     */
    private boolean appendedDirect(FileChannel ch, ByteBuffer[] record, long recordBytes) throws IOException {
        if (directAppender() == null) {
            return false;
        }
        int[] positions = new int[record.length];
        for (int i = 0; i < record.length; i++) {
            positions[i] = record[i].position();
        }
        try {
            direct.append(ch, publishedSizeBytes, record);
        } catch (IOException e) {
            if (direct.wrote()) {
                throw e;
            }
            firstDirectFailure = e;
            for (int i = 0; i < record.length; i++) {
                record[i].position(positions[i]);
            }
            ch.truncate(publishedSizeBytes);
            return false;
        }
        padded = true;
        ch.position(publishedSizeBytes + recordBytes);
        return true;
    }

    /** The direct appender, opened on first use; null when this file system refuses O_DIRECT. */
    private DirectAppender directAppender() {
        if (direct == null && !DirectAppender.refused(path)) {
            direct = DirectAppender.open(path, staging);
        }
        return direct;
    }

    /**
     * Records of at least this many bytes are appended with O_DIRECT from now on, staged in the
     * buffer's {@code staging} memory (one for all its segments).
     */
    CaptureSegment directAppendsFrom(long recordBytes, AlignedStaging staging) {
        this.directMinBytes = recordBytes;
        this.staging = staging;
        return this;
    }

    /** fdatasync of everything appended so far. */
    void force() throws IOException {
        if (released) {
            return; // durable before it gave its descriptor back
        }
        try {
            channel.force(false);
        } catch (IOException e) {
            if (deleted || released) {
                return; // Acknowledged by every remote and gone, or released meanwhile: nothing left to make durable.
            }
            restore();
            throw e;
        }
    }

    /** Marks the segment as complete: the writer has moved on to the next one. */
    void seal() {
        sealed = true;
    }

    /**
     * Closes the descriptor of a sealed segment whose bytes were forced (the caller knows): it is
     * never written again. A {@link #force} running meanwhile on another thread returns quietly.
     */
    synchronized void release() throws IOException {
        if (!sealed) {
            throw new IllegalStateException("segment " + path + " is not sealed");
        }
        if (released) {
            return; // the writer's roll and a sync may both find it forced
        }
        closeDirect();
        released = true;
        channel.close();
    }

    boolean released() {
        return released;
    }

    /**
     * Closes the segment for good and renames its file to its retired name ({@link RetiredFiles}),
     * which the buffer no longer lists; returns that name for the caller to delete (the caller has
     * checked every remote acknowledged it).
     */
    Path retire() throws IOException {
        deleted = true;
        closeDirect();
        if (channel != null) {
            channel.close();
        }
        return RetiredFiles.retire(path);
    }

    @Override
    public void close() throws IOException {
        closeDirect();
        if (channel != null) {
            channel.close();
        }
    }

    /** Frees the O_DIRECT appender once, whoever closes, retires or releases the segment. */
    private synchronized void closeDirect() throws IOException {
        if (direct != null) {
            DirectAppender d = direct;
            direct = null;
            d.close();
        }
    }

    /**
     * An interrupt during channel I/O closes the channel (ClosedByInterruptException); reopen it
     * and cut the file back to the last published record so that the buffer stays usable.
     */
    private void restore() throws IOException {
        if (released) {
            return; // never written again
        }
        if (!channel.isOpen()) {
            channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        channel.truncate(publishedSizeBytes);
        channel.position(publishedSizeBytes);
    }

    Path path() {
        return path;
    }

    long baseSequence() {
        return baseSequence;
    }

    int headerBytes() {
        return headerBytes;
    }

    long publishedSizeBytes() {
        return publishedSizeBytes;
    }

    /** Sequence of the last record, {@code baseSequence - 1} when empty. */
    long lastSequence() {
        return lastSequence;
    }

    boolean isEmpty() {
        return lastSequence < baseSequence;
    }

    boolean sealed() {
        return sealed;
    }

    boolean deleted() {
        return deleted;
    }

    @Override
    public String toString() {
        return path.getFileName() + "[" + baseSequence + ".." + lastSequence + ", " + publishedSizeBytes + " bytes]";
    }
}
