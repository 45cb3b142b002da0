package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import io.tapline.log.RecordCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Walks a segment's record headers without reading payloads or checking CRCs: to find where a
 * sequence starts, the last whole record of a segment another process is appending to, or a
 * record's capture time. Stops quietly at a partial or implausible record (a torn or
 * still-growing tail); recovery, not the scanner, judges damage.
 *
 * <p>Stateless and thread-safe.
 */
final class SegmentScanner {
    /** recordLength, crc32c, version, kind, flags, sequence, captureTime: the first 28 record bytes. */
    private static final int PEEK_BYTES = 28;

    private SegmentScanner() {
    }

    /** A record's place and identity. */
    record Entry(long positionBytes, int totalBytes, long sequence, long captureTimeNanos) {
    }

    /** What a walk found: the entry it stopped at (or the last one), and the end of whole records. */
    record Found(Entry entry, long endBytes) {
    }

    /**
     * Walks from {@code fromBytes} up to {@code limitBytes} and returns the first record with
     * {@code sequence >= wantedSequence} ({@code entry} null and {@code endBytes} the end of the last
     * whole record when there is none).
     */
    static Found seek(FileChannel ch, long fromBytes, long limitBytes, long wantedSequence) throws IOException {
        return walk(ch, fromBytes, limitBytes, wantedSequence);
    }

    /** The last whole record before {@code limitBytes} ({@code entry} null when there is none). */
    static Found last(FileChannel ch, long fromBytes, long limitBytes) throws IOException {
        return walk(ch, fromBytes, limitBytes, Long.MAX_VALUE);
    }

    private static Found walk(FileChannel ch, long fromBytes, long limitBytes, long wantedSequence)
            throws IOException {
        ByteBuffer peek = ByteBuffer.allocate(PEEK_BYTES);
        long pos = fromBytes;
        Entry previous = null;
        while (pos + PEEK_BYTES <= limitBytes) {
            peek.clear();
            if (DurableFiles.readUpTo(ch, peek, pos) < PEEK_BYTES) {
                break;
            }
            int length = peek.getInt(0);
            if (length < RecordCodec.FIXED_BYTES - 3 || length > RecordCodec.MAX_RECORD_LENGTH
                    || (peek.get(8) & 0xFF) != RecordCodec.FORMAT_VERSION || pos + 4 + length > limitBytes) {
                break;
            }
            Entry e = new Entry(pos, 4 + length, peek.getLong(12), peek.getLong(20));
            if (e.sequence() >= wantedSequence) {
                return new Found(e, pos);
            }
            previous = e;
            pos += e.totalBytes();
        }
        return new Found(wantedSequence == Long.MAX_VALUE ? previous : null, pos);
    }
}
