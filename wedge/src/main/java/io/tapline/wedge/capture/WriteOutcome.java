package io.tapline.wedge.capture;

/** How a write-nature command ended in the sequencer. */
public enum WriteOutcome {
    /** Applied to the primary and captured (or, with a full buffer, applied and remembered as lost). */
    OK,
    /** The capture append, the primary write or a sync failed: the host must see an I/O error. */
    IO_ERROR,
    /**
     * The primary's file system had no room for the write (ENOSPC, EDQUOT, EFBIG): the host sees
     * ENOSPC, as proto.md asks, so that a hypervisor can pause its guest instead of failing I/O.
     */
    NO_SPACE,
    /** The sequencer was closed before the command ran; nothing was applied. */
    SHUT_DOWN
}
