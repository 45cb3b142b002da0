package io.tapline.journey.source;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;

/**
 * Where a source puts a record into a volume's stream, ordered with everything else the source
 * captures: the wedge's per-volume sequencer (ordered with the host's writes), or the snoop's
 * router (ordered with the completions it decodes). Its completion carries the sequence the
 * record was assigned once that record is durable in the capture buffer. {@link MarkSpool} feeds
 * {@code tapline mark} through it.
 *
 * <p>Thread-safety: {@link #submit} may be called from any thread; the completion runs on a
 * thread of the implementation and must not block.
 */
@FunctionalInterface
public interface SourceSink {

    /**
     * Appends one record after every record captured before the call.
     *
     * @param payload the record's payload (a MARK's UTF-8 name); the sink keeps it, the caller must not change it
     */
    void submit(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance, byte[] payload,
            Completion completion);

    /** The outcome of one {@link #submit}. */
    @FunctionalInterface
    interface Completion {
        /**
         * @param sequence the record's sequence, durable in the buffer; 0 when it was not stored
         * @param failure  why it was not stored (one line), or null when {@code sequence} is above 0
         */
        void completed(long sequence, String failure);
    }
}
