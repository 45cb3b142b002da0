package io.tapline.log.buffer;

/** How the capture buffer is coping. */
public enum BufferMode {
    /** Storing every record; below the high-water mark. */
    DATA,
    /** Storing every record, but above the high-water mark: the remote is falling behind. */
    HIGH_WATER,
    /** Out of space: writes proceed on the host but are not stored; their ranges are remembered as lost. */
    FULL
}
