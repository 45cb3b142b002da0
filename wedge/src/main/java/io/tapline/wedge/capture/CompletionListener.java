package io.tapline.wedge.capture;

/**
 * Receives the outcome of {@link WriteCommand}s, on the sequencer or flusher thread (never an
 * event loop). Implementations queue the reply and hand it to their event loop in
 * {@link #onBatchEnd}, which is called once per listener after each batch of completions, so
 * that one batch costs one wake-up and one socket flush per connection.
 */
public interface CompletionListener {
    /**
     * The command has finished with {@code outcome}; must not block.
     *
     * @param sequence the sequence its capture record was assigned (durable when the command
     *                 {@linkplain WriteCommand#needsDurability needs durability} and the outcome is
     *                 OK), or 0 when nothing was captured (a full buffer, cycle mode, a failure)
     */
    void onComplete(WriteCommand command, WriteOutcome outcome, long sequence);

    /** No more completions for this listener in the current batch; must not block. */
    void onBatchEnd();
}
