package io.tapline.wedge.capture;

/**
 * Receives the outcome of {@link WriteCommand}s, on the sequencer or flusher thread (never an
 * event loop). Implementations queue the reply and hand it to their event loop in
 * {@link #onBatchEnd}, which is called once per listener after each batch of completions, so
 * that one batch costs one wake-up and one socket flush per connection.
 */
public interface CompletionListener {
    /** The command has finished with {@code outcome}; must not block. */
    void onComplete(WriteCommand command, WriteOutcome outcome);

    /** No more completions for this listener in the current batch; must not block. */
    void onBatchEnd();
}
