package io.tapline.nbd;

/**
 * NBD transmission command types (proto.md "Request types"). Wire values never change.
 * {@link #BLOCK_STATUS} and {@link #RESIZE} exist so that logs can name them; the wedge never
 * negotiates them and rejects them with {@code EINVAL}.
 */
public enum NbdCommand {
    READ(0),
    WRITE(1),
    DISC(2),
    FLUSH(3),
    TRIM(4),
    CACHE(5),
    WRITE_ZEROES(6),
    BLOCK_STATUS(7),
    RESIZE(8);

    private static final NbdCommand[] BY_WIRE_VALUE = values();

    private final int wireValue;

    NbdCommand(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }

    /** Whether the command changes the export and therefore goes through the sequencer. */
    public boolean isWriteNature() {
        return this == WRITE || this == TRIM || this == WRITE_ZEROES || this == FLUSH;
    }

    /** Whether the command addresses a byte range ({@code offset}, {@code length}) of the export. */
    public boolean hasRange() {
        return this == READ || this == WRITE || this == TRIM || this == CACHE || this == WRITE_ZEROES;
    }

    /** The command with this wire value, or {@code null} when the value names none. */
    public static NbdCommand fromWireValue(int value) {
        return value >= 0 && value < BY_WIRE_VALUE.length ? BY_WIRE_VALUE[value] : null;
    }
}
