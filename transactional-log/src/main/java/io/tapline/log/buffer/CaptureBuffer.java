package io.tapline.log.buffer;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The source side's durable FIFO of capture records for one volume: segment files under one
 * directory, per-remote cursors, recovery after a crash. API CONTRACT (implementation pending).
 *
 * <p>Thread-safety: {@link #append} is called by one sequencer thread at a time (it is
 * synchronized anyway); readers, {@link #sync}, {@link #acknowledge} and {@link #status} may be
 * called from any thread.
 */
public final class CaptureBuffer implements Closeable {

    private CaptureBuffer() {
    }

    /**
     * Opens (creating if missing) the buffer of {@code volumeId} in {@code volumeDir}, recovering
     * after a crash: a torn tail is trimmed and reported in {@link #recoveryReport()}; corruption
     * before the tail throws {@link BufferCorruptException} naming file and offset.
     */
    public static CaptureBuffer open(Path volumeDir, String volumeId, BufferConfig config) throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    /** What recovery found when this buffer was opened. */
    public RecoveryReport recoveryReport() {
        throw new UnsupportedOperationException("pending");
    }

    /**
     * Assigns the next sequence number and the capture time, seals the record (CRC-32C) and
     * appends it to the active segment (page cache; durable only after {@link #sync}).
     *
     * @return the stored record, or {@code null} when the buffer is full: the write was not
     *         stored but its range was remembered as lost; status shows FULL and a GAP record is
     *         appended as soon as space returns. The host's write must still proceed.
     */
    public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload) throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    /** Makes every record appended before this call durable (fdatasync), group-commit style. */
    public void sync() throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    /** Highest sequence appended (0 when none yet). */
    public long lastSequence() {
        throw new UnsupportedOperationException("pending");
    }

    /** Opens a reader positioned at the first retained record with sequence >= {@code fromSequence}. */
    public RecordReader openReader(long fromSequence) throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    /** Registers a remote (idempotent); a new remote starts after the oldest retained record - 1. */
    public void registerRemote(String remoteId) throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    /** The last sequence {@code remoteId} acknowledged as durably applied. */
    public long acknowledged(String remoteId) {
        throw new UnsupportedOperationException("pending");
    }

    /**
     * Records (durably) that {@code remoteId} has applied every record up to {@code sequence};
     * deletes segments every remote has acknowledged.
     */
    public void acknowledge(String remoteId, long sequence) throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    /** Current figures for status and metrics. */
    public BufferStatus status() {
        throw new UnsupportedOperationException("pending");
    }

    /** Reads the status of a buffer directory from its files, for another process. */
    public static BufferStatus readStatus(Path volumeDir) throws IOException {
        throw new UnsupportedOperationException("pending");
    }

    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException("pending");
    }
}
