package io.tapline.journey;

/** How a BATCH's record bytes travel. Wire values never change. */
public enum Compression {
    /** The record bytes as they are. */
    NONE(0),
    /** One LZ4 block (raw block format, no frame header) of the record bytes. */
    LZ4(1),
    /**
     * One Zstandard frame of the record bytes (protocol version 3 on): slower than LZ4 and
     * smaller, chosen when the line rather than the CPU is the limit.
     */
    ZSTD(2);

    private final int wireValue;

    Compression(int wireValue) {
        this.wireValue = wireValue;
    }

    /** The value sent on the wire. */
    public int wireValue() {
        return wireValue;
    }

    /**
     * Maps a wire value back to its compression.
     *
     * @throws JourneyProtocolException if the value names no compression
     */
    public static Compression fromWireValue(int value) {
        for (Compression c : values()) {
            if (c.wireValue == value) {
                return c;
            }
        }
        throw new JourneyProtocolException("compression: " + value + " (expected: 0..2)");
    }
}
