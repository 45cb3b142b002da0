package io.tapline.nbd;

/** Option reply types (proto.md "Option reply types"); errors have bit 31 set. */
public enum NbdOptionReplyType {
    ACK(1),
    SERVER(2),
    INFO(3),
    ERR_UNSUP(0x8000_0001),
    ERR_POLICY(0x8000_0002),
    ERR_INVALID(0x8000_0003),
    ERR_PLATFORM(0x8000_0004),
    ERR_TLS_REQD(0x8000_0005),
    ERR_UNKNOWN(0x8000_0006),
    ERR_SHUTDOWN(0x8000_0007),
    ERR_BLOCK_SIZE_REQD(0x8000_0008),
    ERR_TOO_BIG(0x8000_0009);

    private final int wireValue;

    NbdOptionReplyType(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }

    public boolean isError() {
        return wireValue < 0;
    }

    /** The reply type with this wire value, or {@code null} when the value names none. */
    public static NbdOptionReplyType fromWireValue(int value) {
        for (NbdOptionReplyType t : values()) {
            if (t.wireValue == value) {
                return t;
            }
        }
        return null;
    }
}
