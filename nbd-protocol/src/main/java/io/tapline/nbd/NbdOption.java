package io.tapline.nbd;

/** Fixed-newstyle option types a client may send during the handshake (proto.md "Option types"). */
public enum NbdOption {
    EXPORT_NAME(1),
    ABORT(2),
    LIST(3),
    PEEK_EXPORT(4),
    STARTTLS(5),
    INFO(6),
    GO(7),
    STRUCTURED_REPLY(8),
    LIST_META_CONTEXT(9),
    SET_META_CONTEXT(10),
    EXTENDED_HEADERS(11);

    private final int wireValue;

    NbdOption(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }

    /** The option with this wire value, or {@code null} for one this code does not know. */
    public static NbdOption fromWireValue(int value) {
        for (NbdOption o : values()) {
            if (o.wireValue == value) {
                return o;
            }
        }
        return null;
    }
}
