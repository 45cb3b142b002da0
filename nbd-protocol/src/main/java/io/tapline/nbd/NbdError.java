package io.tapline.nbd;

/** NBD error values carried in the reply's error field (proto.md "Error values"); Linux errno numbers. */
public enum NbdError {
    OK(0),
    EPERM(1),
    EIO(5),
    ENOMEM(12),
    EINVAL(22),
    ENOSPC(28),
    EOVERFLOW(75),
    ENOTSUP(95),
    ESHUTDOWN(108);

    private final int wireValue;

    NbdError(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }

    /** The error with this wire value, or {@code null} when the value names none. */
    public static NbdError fromWireValue(int value) {
        for (NbdError e : values()) {
            if (e.wireValue == value) {
                return e;
            }
        }
        return null;
    }
}
