package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Replayer to source: the replica's state, sent after WELCOME, whenever it changes and, as a
 * heartbeat, again every {@link #heartbeatMillis} while the session lives. Mutable only for Kryo;
 * treat instances as values once built.
 */
public final class ReplicaStateReport implements ControlMessage {
    /** The replica is at {@link #lastApplied} and is a crash-consistent image of the source. */
    public static final String CONSISTENT = "consistent";
    /** A GAP (or an unknown history) was applied: the replica misses data until a resync. */
    public static final String OUT_OF_SYNC = "out-of-sync";
    /** A resync epoch is being applied: inconsistent until its RESYNC_END. */
    public static final String RESYNCING = "resyncing";
    /** Applying failed (I/O error): the reason says why. */
    public static final String FAILED = "failed";

    @Tag(1)
    private String state = CONSISTENT;
    @Tag(2)
    private long lastApplied;
    @Tag(3)
    private long consistentSequence;
    @Tag(4)
    private long resyncId;
    @Tag(5)
    private String reason = "";
    @Tag(6)
    private long lastRecordCrc = -1;
    @Tag(7)
    private long heartbeatMillis;
    @Tag(8)
    private long unappliedForMillis;

    /** For Kryo. */
    ReplicaStateReport() {
    }

    public ReplicaStateReport(String state, long lastApplied, long consistentSequence, long resyncId, String reason) {
        this.state = state;
        this.lastApplied = lastApplied;
        this.consistentSequence = consistentSequence;
        this.resyncId = resyncId;
        this.reason = reason == null ? "" : reason;
    }

    /**
     * The same report with the CRC-32C of the last applied record ({@code -1}: unknown, e.g. after a
     * rollback): the source compares it with its own record at that sequence, so that a replica
     * whose history is not this source's is found and resynced, never skipped over.
     */
    public ReplicaStateReport withLastRecordCrc(long crc) {
        ReplicaStateReport r = copy();
        r.lastRecordCrc = crc;
        return r;
    }

    /**
     * The same report, announcing that the replayer repeats its last report at least every
     * {@code millis} on a live session (a heartbeat), so that the source may take a longer silence
     * for a replayer that stopped answering. Not part of the report's value ({@link #equals}).
     */
    public ReplicaStateReport withHeartbeat(long millis) {
        ReplicaStateReport r = copy();
        r.heartbeatMillis = millis;
        return r;
    }

    /**
     * The same report, saying how long the oldest batch the replayer received and has not yet
     * acknowledged has waited when the report was sent ({@code 0}: none waits). A replica whose
     * disk is slow or hangs shows here while its link stays alive: the heartbeat comes from the
     * replayer's event loop, the ACKs from its apply thread. A measurement, not part of the
     * report's value ({@link #equals}).
     */
    public ReplicaStateReport withUnappliedFor(long millis) {
        ReplicaStateReport r = copy();
        r.unappliedForMillis = Math.max(0, millis);
        return r;
    }

    /** A copy of every field, for the {@code with} methods (each then changes one). */
    private ReplicaStateReport copy() {
        ReplicaStateReport r = new ReplicaStateReport(state, lastApplied, consistentSequence, resyncId, reason);
        r.lastRecordCrc = lastRecordCrc;
        r.heartbeatMillis = heartbeatMillis;
        r.unappliedForMillis = unappliedForMillis;
        return r;
    }

    /**
     * How long the oldest received, unacknowledged batch had waited on the replayer when this was
     * sent; 0 when none waited (or from an older replayer, which does not say).
     */
    public long unappliedForMillis() {
        return unappliedForMillis;
    }

    /** How often the replayer repeats its report on a live session; 0 for one that does not (older replayers). */
    public long heartbeatMillis() {
        return heartbeatMillis;
    }

    /** CRC-32C (unsigned) of the last applied record, {@code -1} when unknown. */
    public long lastRecordCrc() {
        return lastRecordCrc;
    }

    /** One of {@link #CONSISTENT}, {@link #OUT_OF_SYNC}, {@link #RESYNCING}, {@link #FAILED}. */
    public String state() {
        return state;
    }

    /** Every record up to this one is applied and durable. */
    public long lastApplied() {
        return lastApplied;
    }

    /** The newest sequence at which the replica was known consistent (a rollback target). */
    public long consistentSequence() {
        return consistentSequence;
    }

    /** The resync epoch being applied, 0 when none. */
    public long resyncId() {
        return resyncId;
    }

    /** Why the replica is not consistent; empty when it is. */
    public String reason() {
        return reason;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ReplicaStateReport r && state.equals(r.state) && lastApplied == r.lastApplied
                && consistentSequence == r.consistentSequence && resyncId == r.resyncId && reason.equals(r.reason)
                && lastRecordCrc == r.lastRecordCrc;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(state, lastApplied, consistentSequence, resyncId, reason, lastRecordCrc);
    }

    @Override
    public String toString() {
        return "ReplicaState[" + state + ", lastApplied=" + lastApplied + ", consistentSeq=" + consistentSequence
                + (resyncId == 0 ? "" : ", resync=" + Long.toHexString(resyncId))
                + (reason.isEmpty() ? "" : ", reason=" + reason) + "]";
    }
}
