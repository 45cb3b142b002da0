package io.tapline.tools;

import io.tapline.journey.source.SourceSink;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.wedge.capture.CompletionListener;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.wedge.capture.WriteOutcome;
import io.tapline.wedge.server.WedgeServer;

/**
 * The wedge's {@link SourceSink}: a record goes to the volume's sequencer like a host's command
 * (so a MARK is ordered with the host's writes), and the sequencer's completion carries the
 * sequence its record was assigned; a MARK completes only once it is durable (group commit).
 *
 * <p>Thread-safety: {@link #submit} from any thread; completions on the sequencer's threads.
 */
final class WedgeSourceSink implements SourceSink {
    /** Why a record got no sequence in journal mode. */
    static final String BUFFER_FULL = "capture buffer full: the mark was not stored";
    /** Why a record gets no sequence in cycle mode. */
    static final String CYCLE_MODE = "the volume is in cycle mode: a replica only holds whole cycles; use tapline cycle now";

    private final WedgeServer wedge;
    private final java.util.function.Supplier<String> notStored;

    /** @param notStored the one-line reason a completion without a sequence reports, asked at that moment */
    WedgeSourceSink(WedgeServer wedge, java.util.function.Supplier<String> notStored) {
        this.wedge = wedge;
        this.notStored = notStored;
    }

    /**
     * Why a journal-mode record got no sequence: the buffer is full, or capture is paused (probe s62 AD
     * D2: a mark during `capture pause` said "capture buffer full" with 37 MB of 4 GB used).
     */
    static String journalNotStored(io.tapline.log.buffer.CaptureBuffer buffer) {
        String paused = buffer.capturePaused();
        return paused == null || paused.isEmpty() ? BUFFER_FULL : "capture is paused (" + paused + "): the mark was"
                + " not stored; tapline capture resume first";
    }

    @Override
    public void submit(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
            byte[] payload, Completion completion) {
        wedge.submit(new WriteCommand(kind, offsetBytes, lengthBytes, flags, provenance, payload,
                new CompletionListener() {
                    @Override
                    public void onComplete(WriteCommand command, WriteOutcome outcome, long sequence) {
                        if (outcome != WriteOutcome.OK) {
                            // Not "failed": the record may be written though its sync failed, and a restarted
                            // wedge then ships it (probe O O12).
                            completion.completed(0, "not confirmed durable: the wedge answered "
                                    + outcome.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + " (its capture"
                                    + " buffer's write or sync failed: see tapline status); the mark may still reach the"
                                    + " replicas after the wedge restarts (tapline window shows it then)");
                        } else {
                            completion.completed(sequence, sequence > 0 ? null : notStored.get());
                        }
                    }

                    @Override
                    public void onBatchEnd() {
                        // Each completion was handed on in onComplete.
                    }
                }));
    }
}
