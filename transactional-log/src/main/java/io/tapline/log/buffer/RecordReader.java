package io.tapline.log.buffer;

import io.tapline.log.CaptureRecord;
import java.io.Closeable;
import java.io.IOException;

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

    /** Sequence of the record {@link #next} returns next. */
    long position();
}
