package io.tapline.log;

/**
 * What a capture record stands for. Each kind maps to one wire value stored in byte 9 of the
 * record (see {@link RecordCodec} and {@code docs/formats.md}); the values never change.
 */
public enum RecordKind {
    /** Data written to {@code [offset, offset+length)}; the payload holds exactly those bytes. */
    WRITE(1),
    /** The range reads as zeroes afterwards (NBD WRITE_ZEROES, SCSI WRITE SAME with a zero block). */
    WRITE_ZEROES(2),
    /** The range was discarded (NBD TRIM, SCSI UNMAP); Tapline volumes read it back as zeroes. */
    DISCARD(3),
    /** A barrier: everything before it was made durable by the host (NBD FLUSH, SYNCHRONIZE CACHE). */
    FLUSH(4),
    /** A named bookmark; the payload is the mark's UTF-8 name. */
    MARK(5),
    /** A known hole in capture covering the range; the payload is the UTF-8 reason. */
    GAP(6),
    /**
     * Start of a checksum resync epoch: from here until the matching {@link #RESYNC_END} the
     * replica is being brought back in step by WRITEs of the source's current chunks, and is
     * inconsistent. The payload is the UTF-8 text {@code "resync <id> <scope>: <reason>"}. A
     * replayer accepts a RESYNC_BEGIN after a hole in the sequence (the resync covers it).
     */
    RESYNC_BEGIN(7),
    /** End of the resync epoch named by the payload ({@code "resync <id>"}): the replica is consistent again. */
    RESYNC_END(8);

    private final int wireValue;

    RecordKind(int wireValue) {
        this.wireValue = wireValue;
    }

    /** The value stored on disk and on the wire. */
    public int wireValue() {
        return wireValue;
    }

    /** Whether the kind changes bytes of the volume when replayed. */
    public boolean changesData() {
        return this == WRITE || this == WRITE_ZEROES || this == DISCARD;
    }

    /**
     * Maps a stored value back to its kind.
     *
     * @throws RecordFormatException if the value names no kind
     */
    public static RecordKind fromWireValue(int value) {
        for (RecordKind kind : values()) {
            if (kind.wireValue == value) {
                return kind;
            }
        }
        throw new RecordFormatException("kind: " + value + " (expected: 1..8)");
    }
}
