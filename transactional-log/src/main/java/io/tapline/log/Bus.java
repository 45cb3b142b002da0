package io.tapline.log;

/** Where a record was captured: the provenance auditors see. Wire values never change. */
public enum Bus {
    /** Made by Tapline itself (marks, gaps raised by the buffer). */
    INTERNAL(0),
    /** The inline NBD wedge. */
    WEDGE(1),
    /** Passive capture of iSCSI traffic. */
    ISCSI(2),
    /** Passive capture of NBD traffic. */
    NBD(3);

    private final int wireValue;

    Bus(int wireValue) {
        this.wireValue = wireValue;
    }

    /** The value stored on disk and on the wire. */
    public int wireValue() {
        return wireValue;
    }

    /**
     * Maps a stored value back to its bus.
     *
     * @throws RecordFormatException if the value names no bus
     */
    public static Bus fromWireValue(int value) {
        for (Bus bus : values()) {
            if (bus.wireValue == value) {
                return bus;
            }
        }
        throw new RecordFormatException("bus: " + value + " (expected: 0..3)");
    }
}
