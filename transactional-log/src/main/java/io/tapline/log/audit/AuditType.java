package io.tapline.log.audit;

/** What an audit entry records. Wire values never change. */
public enum AuditType {
    /** A WRITE, WRITE_ZEROES, DISCARD or FLUSH record applied to the replica. */
    RECORD(1),
    /** A GAP record: the range is unknown until resync. */
    GAP(2),
    /** A MARK record. */
    MARK(3),
    /** An administrator's rollback (who, from, to, when). */
    ROLLBACK(4),
    /** An administrator resumed a paused volume. */
    RESUME(5),
    /** Records above the durable applied sequence were undone when the volume opened after a crash. */
    RECOVERY(6),
    /** The volume was created or its configuration changed. */
    CONFIG(7),
    /** An online verify compared the replica with its source (detail: what differed). */
    VERIFY(8),
    /** An administrator promoted the replica to primary: a new generation begins (detail: who, generation, loss). */
    PROMOTE(9),
    /** An administrator demoted a promoted replica back to secondary (detail: generation, what was kept). */
    DEMOTE(10),
    /** A peer was refused (who: its identity; detail: what it asked and why it was refused). */
    REFUSED(11),
    /**
     * The source saw a replica fall out of step, or a way to it fail: buffer full, writes not
     * captured, chunks tracked for a resync, a link down, a replica refused or out of sync, a
     * resync begun (detail: which condition, and why). Written by the source's own audit log.
     */
    DEGRADED(12),
    /** A condition a {@link #DEGRADED} entry named ended (detail: which, and after how long). */
    HEALED(13);

    private final int wireValue;

    AuditType(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }

    /** @throws IllegalArgumentException if the value names no type */
    public static AuditType fromWireValue(int value) {
        for (AuditType t : values()) {
            if (t.wireValue == value) {
                return t;
            }
        }
        throw new IllegalArgumentException("type: " + value + " (expected: 1.." + values().length + ")");
    }
}
