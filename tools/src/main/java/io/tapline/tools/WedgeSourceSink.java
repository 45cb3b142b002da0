package io.tapline.tools;

import io.tapline.journey.source.SourceSink;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.wedge.capture.CaptureSink;
import io.tapline.wedge.capture.CompletionListener;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.wedge.capture.WriteOutcome;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The wedge's {@link SourceSink}: a record goes to the volume's sequencer like a host's command
 * (so a MARK is ordered with the host's writes), and its completion carries the sequence the
 * {@link SequenceTap} saw the capture sink assign; the sequencer completes a MARK only once it is
 * durable (group commit).
 *
 * <p>Thread-safety: {@link #submit} from any thread; completions on the sequencer's threads.
 */
final class WedgeSourceSink implements SourceSink {
    private final WedgeServer wedge;
    private final SequenceTap tap;

    WedgeSourceSink(WedgeServer wedge, SequenceTap tap) {
        this.wedge = wedge;
        this.tap = tap;
    }

    @Override
    public void submit(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
            byte[] payload, Completion completion) {
        tap.expect(payload);
        wedge.submit(new WriteCommand(kind, offsetBytes, lengthBytes, flags, provenance, payload,
                new CompletionListener() {
                    @Override
                    public void onComplete(WriteCommand command, WriteOutcome outcome) {
                        long seq = tap.take(payload);
                        if (outcome != WriteOutcome.OK) {
                            completion.completed(0, "mark failed: " + outcome);
                        } else {
                            completion.completed(seq, seq > 0 ? null : tap.notStoredReason());
                        }
                    }

                    @Override
                    public void onBatchEnd() {
                        // Each completion was handed on in onComplete.
                    }
                }));
    }

    /**
     * A capture sink that passes everything through and remembers the sequence assigned to each
     * MARK it was told to expect (matched by payload identity). Thread-safe.
     */
    static final class SequenceTap implements CaptureSink {
        private final CaptureSink delegate;
        private final Map<byte[], Long> expected = new IdentityHashMap<>();

        SequenceTap(CaptureSink delegate) {
            this.delegate = delegate;
        }

        synchronized void expect(byte[] payload) {
            expected.put(payload, 0L);
        }

        /** Why a MARK got no sequence. */
        String notStoredReason() {
            return delegate instanceof io.tapline.wedge.capture.UncapturedSink
                    ? "the volume is in cycle mode: a replica only holds whole cycles; use tapline cycle now"
                    : "capture buffer full: the mark was not stored";
        }

        /** The sequence the MARK got, 0 if it was not stored. */
        synchronized long take(byte[] payload) {
            Long seq = expected.remove(payload);
            return seq == null ? 0 : seq;
        }

        @Override
        public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
                Provenance provenance, byte[] payload) throws IOException {
            CaptureRecord r = delegate.append(kind, offsetBytes, lengthBytes, flags, provenance, payload);
            if (kind == RecordKind.MARK && r != null) {
                synchronized (this) {
                    expected.replace(payload, r.sequence());
                }
            }
            return r;
        }

        @Override
        public void sync() throws IOException {
            delegate.sync();
        }

        @Override
        public void fail(String reason) {
            delegate.fail(reason);
        }
    }
}
