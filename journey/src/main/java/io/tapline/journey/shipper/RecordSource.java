package io.tapline.journey.shipper;

import io.tapline.log.buffer.RecordReader;
import java.io.IOException;

/**
 * The part of the capture buffer a shipper uses: its cursor and a reader. Exists so that tests
 * can ship from an in-memory log; production code adapts {@code CaptureBuffer}. Implementations
 * are thread-safe.
 */
interface RecordSource {
    void registerRemote(String remoteId) throws IOException;

    long acknowledged(String remoteId);

    void acknowledge(String remoteId, long sequence) throws IOException;

    long lastSequence();

    /** Sequence of the oldest retained record (lastSequence + 1 when none). */
    long firstSequence();

    /** Moves the remote's cursor back to {@code sequence} (records after it are retained). */
    void rewind(String remoteId, long sequence) throws IOException;

    RecordReader openReader(long fromSequence) throws IOException;

    /**
     * Returns once every record up to {@code sequence} is on the source's stable storage, so that
     * a replica never holds a record the source could lose in a power cut (it would then reuse the
     * sequence number for different data).
     */
    void makeDurable(long sequence) throws IOException;

    /**
     * Continues the numbering after {@code replicaSequence}, a replica's last record this source
     * never held, with a durable GAP that says so (see {@code CaptureBuffer.numberPast}).
     *
     * @return whether it jumped; false when it already numbers past it or cannot jump
     */
    default boolean numberPast(long replicaSequence, String why) throws IOException {
        return false;
    }
}
