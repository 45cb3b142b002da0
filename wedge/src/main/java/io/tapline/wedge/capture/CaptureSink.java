package io.tapline.wedge.capture;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.util.List;

/**
 * Where the wedge appends what it captures: the per-volume capture buffer in production
 * ({@link #of(CaptureBuffer)}), a small in-memory fake in tests.
 *
 * <p>Threading: {@link #append} is called only by the volume's sequencer thread, in sequence
 * order; {@link #sync} only by its flusher thread, possibly while an append runs.
 * The wedge never closes a sink: whoever opened it owns it.
 */
public interface CaptureSink {

    /**
     * Appends one record (page cache is enough; durability comes from {@link #sync}).
     *
     * @param payload the WRITE data, shared with the primary write and never modified; empty otherwise.
     *                The array is the caller's again once this returns (the wedge reuses it for a later
     *                request once the command is complete): a sink that keeps the bytes copies them
     * @return the sealed record, or {@code null} when the sink is full: the write was not stored
     *         (the sink remembers the range as lost) and the host's write must still proceed
     * @throws IOException when the record could not be appended: the data is at risk
     */
    CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
            byte[] payload) throws IOException;

    /**
     * Appends a run of commands as {@link #append} would one at a time, with one write when the
     * sink can: returns the sealed records of the prefix it stored (possibly none), and the
     * caller appends the rest one by one. Nothing is stored when it returns empty. As with
     * {@link #append}, no payload array is kept past the return.
     *
     * @throws IOException when nothing can be appended (the sink is closed)
     */
    default List<CaptureRecord> appendAll(List<WriteCommand> commands) throws IOException {
        return List.of();
    }

    /**
     * Readies the sink to store {@code commands} with {@link #appendAll} without stopping early
     * (the capture buffer makes their extents hot in its activity log: one fdatasync for all of
     * them). Called on the sequencer's capture thread only, never on an event loop.
     *
     * @throws IOException when the sink could not (the caller then appends them one by one)
     */
    default void prepare(List<WriteCommand> commands) throws IOException {
    }

    /** Makes every record appended before this call durable. */
    void sync() throws IOException;

    /**
     * The primary volume and the sink are durable through {@code sequence}: every command up to it
     * was applied and both were synced afterwards (the flusher, after its sync pair).
     */
    default void confirmDurable(long sequence) {
    }

    /**
     * Whether the sink would like a durable point although no host command asked for one (the
     * capture buffer's activity log holds more hot extents than configured, none of them safe:
     * a host that never flushes). The flusher then runs a sync pair on its own.
     */
    default boolean wantsDurablePoint() {
        return false;
    }

    /**
     * The volume failed for good (a failed fsync, {@code reason} says which): the sink must not
     * claim a clean shutdown when it is closed, so that the next start tracks every chunk and a
     * resync heals the replica. Idempotent; any thread.
     */
    void fail(String reason);

    /** A sink over a capture buffer the caller opened and will close. */
    static CaptureSink of(CaptureBuffer buffer) {
        return new CaptureBufferSink(buffer);
    }
}
