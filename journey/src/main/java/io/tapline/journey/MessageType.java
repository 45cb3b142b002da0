package io.tapline.journey;

/** The u8 type byte of a journey frame. Wire values never change. */
public enum MessageType {
    HELLO(1),
    WELCOME(2),
    REFUSED(3),
    BATCH(4),
    ACK(5),
    ERROR(6),
    ADMIN_REQUEST(7),
    ADMIN_PROGRESS(8),
    ADMIN_DONE(9),
    /** Control plane, either direction inside a session: a Kryo-encoded {@code io.tapline.journey.control.ControlMessage}. */
    CONTROL(10);

    private final int wireValue;

    MessageType(int wireValue) {
        this.wireValue = wireValue;
    }

    /** The value sent on the wire. */
    public int wireValue() {
        return wireValue;
    }

    /**
     * Maps a wire value back to its type.
     *
     * @throws JourneyProtocolException if the value names no type
     */
    public static MessageType fromWireValue(int value) {
        for (MessageType type : values()) {
            if (type.wireValue == value) {
                return type;
            }
        }
        throw new JourneyProtocolException("type: " + value + " (expected: 1..10)");
    }
}
