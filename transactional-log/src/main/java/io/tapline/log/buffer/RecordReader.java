package io.tapline.log.buffer;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Reads a capture buffer's records in sequence order, following the writer. One thread per
 * reader. API CONTRACT.
 */
public interface RecordReader extends Closeable {
    /**
     * Returns the next record (its CRC verified), waiting up to {@code timeoutMillis} for the
     * writer to append one; {@code null} on time-out.
     */
    CaptureRecord next(long timeoutMillis) throws IOException, InterruptedException;

    /**
     * Returns the next record as it is encoded ({@code RecordCodec}: position 0, limit its
     * length), its CRC verified, or {@code null} on time-out. The view is read-only and valid only
     * until the next call on this reader: callers copy what they keep. The buffer's reader returns
     * the stored bytes without decoding them (the shipper packs them into a batch as they are);
     * this default encodes {@link #next}'s record.
     */
    default ByteBuffer nextEncoded(long timeoutMillis) throws IOException, InterruptedException {
        CaptureRecord record = next(timeoutMillis);
        return record == null ? null : ByteBuffer.wrap(RecordCodec.encode(record)).asReadOnlyBuffer();
    }

    /** Sequence of the record {@link #next} returns next. */
    long position();
}
