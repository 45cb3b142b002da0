package io.tapline.nbd;

/** Information types of {@code NBD_REP_INFO} replies to NBD_OPT_INFO and NBD_OPT_GO. */
public enum NbdInfoType {
    EXPORT(0),
    NAME(1),
    DESCRIPTION(2),
    BLOCK_SIZE(3);

    private final int wireValue;

    NbdInfoType(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }
}
