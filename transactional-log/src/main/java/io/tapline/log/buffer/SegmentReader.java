package io.tapline.log.buffer;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * A {@link RecordReader} over the buffer's segments. It reads through its own file channel (so
 * that an interrupt of the reading thread cannot close the writer's channel, and a segment
 * deleted under it stays readable), never past the segment's published size, and follows the
 * writer across segment rolls: a sealed segment's final size is published before the flag, and
 * the next segment is registered before the previous one is sealed.
 *
 * <p>Not thread-safe: one thread per reader.
 */
final class SegmentReader implements RecordReader {
    private final CaptureBuffer buffer;
    private CaptureSegment segment;
    private FileChannel channel;
    private SegmentWindow window;
    private long positionBytes;
    private long nextSequence;
    private boolean closed;

    SegmentReader(CaptureBuffer buffer, CaptureSegment segment, long positionBytes, long nextSequence)
            throws IOException {
        this.buffer = buffer;
        this.nextSequence = nextSequence;
        enter(segment, positionBytes);
    }

    @Override
    public CaptureRecord next(long timeoutMillis) throws IOException, InterruptedException {
        ByteBuffer bytes = nextView(timeoutMillis);
        if (bytes == null) {
            return null;
        }
        try {
            return RecordCodec.decode(bytes);
        } catch (RecordFormatException e) {
            throw corrupt(bytes, e);
        }
    }

    @Override
    public ByteBuffer nextEncoded(long timeoutMillis) throws IOException, InterruptedException {
        ByteBuffer bytes = nextView(timeoutMillis);
        if (bytes == null) {
            return null;
        }
        try {
            RecordCodec.verifyEncoded(bytes);
        } catch (RecordFormatException e) {
            throw corrupt(bytes, e);
        }
        return bytes.asReadOnlyBuffer();
    }

    /** The next record's bytes, unchecked but for its sequence; null on time-out. */
    private ByteBuffer nextView(long timeoutMillis) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMillis));
        while (true) {
            if (closed) {
                throw new IOException("reader closed volume=" + buffer.volumeId());
            }
            ByteBuffer record = readNext();
            if (record != null) {
                return record;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            buffer.awaitSequence(nextSequence, left);
        }
    }

    private BufferCorruptException corrupt(ByteBuffer record, RecordFormatException e) {
        return new BufferCorruptException(segment.path(), positionBytes - record.remaining(), e.getMessage());
    }

    @Override
    public long position() {
        return nextSequence;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    private ByteBuffer readNext() throws IOException {
        while (true) {
            long limit = segment.publishedSizeBytes();
            if (positionBytes >= limit) {
                if (!segment.sealed()) {
                    return null;
                }
                limit = segment.publishedSizeBytes(); // Final size, published before the seal.
                if (positionBytes >= limit) {
                    if (!moveToNextSegment()) {
                        return null;
                    }
                    continue;
                }
            }
            if (!channel.isOpen()) {
                // An interrupt closed our channel (never the writer's): reopen and carry on.
                channel = FileChannel.open(segment.path(), StandardOpenOption.READ);
                window.readFrom(channel);
            }
            ByteBuffer record = viewAt(limit);
            long sequence = RecordCodec.sequenceOf(record);
            if (sequence < nextSequence) {
                continue; // Positioned past the end at open: skip up to the requested sequence.
            }
            if (sequence != nextSequence) {
                throw new BufferCorruptException(segment.path(), positionBytes - record.remaining(),
                        "sequence: " + sequence + " (expected: " + nextSequence + ")");
            }
            nextSequence++;
            return record;
        }
    }

    /** The whole record at the position (its length checked, nothing else), moving past it. */
    private ByteBuffer viewAt(long limit) throws IOException {
        try {
            ByteBuffer lengthField = window.view(positionBytes, 4, limit);
            int total = lengthField == null ? -1 : RecordCodec.peekTotalSize(lengthField);
            ByteBuffer bytes = total < 0 ? null : window.view(positionBytes, total, limit);
            if (bytes == null) {
                throw new RecordFormatException("record: " + (limit - positionBytes)
                        + " published bytes (expected: a whole record)");
            }
            positionBytes += total;
            return bytes;
        } catch (RecordFormatException e) {
            throw new BufferCorruptException(segment.path(), positionBytes, e.getMessage());
        }
    }

    private boolean moveToNextSegment() throws IOException {
        CaptureSegment next = buffer.segmentAfter(segment.baseSequence());
        if (next != null && next.baseSequence() > nextSequence) {
            // A hole in the numbering (CaptureBuffer.numberPast): the next segment opens with the GAP
            // that says the sequences before it are not this buffer's. Readers continue at that GAP.
            nextSequence = next.baseSequence();
        }
        if (next == null) {
            long first = buffer.firstSequence();
            if (nextSequence < first) {
                throw new SequenceNotRetainedException(buffer.volumeId(), nextSequence, first);
            }
            return false;
        }
        channel.close();
        enter(next, next.headerBytes());
        return true;
    }

    private void enter(CaptureSegment target, long atBytes) throws IOException {
        try {
            channel = FileChannel.open(target.path(), StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SequenceNotRetainedException(buffer.volumeId(), nextSequence, buffer.firstSequence());
        }
        segment = target;
        positionBytes = atBytes;
        window = window == null ? new SegmentWindow(channel) : window.readFrom(channel);
    }
}
