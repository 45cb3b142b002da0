package io.tapline.tools;

import io.tapline.journey.resync.ResyncStatus;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.buffer.BufferMode;
import io.tapline.log.buffer.BufferStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One way a source volume's replicas are, or may be, out of step with it at one moment: the
 * buffer is full, writes were not captured, chunks await a resync, the buffer's storage failed,
 * capture is paused, the volume cannot ship, a resync runs, a link is down, a replica is refused
 * or out of sync. The source's audit trail ({@link SourceAuditTrail}) compares these from one
 * look to the next: a new {@code key}, or a new {@code label} under a key, is a degradation; a
 * key gone is healed. The {@code detail} (numbers that move, an error's words) never makes an
 * entry on its own.
 *
 * @param key    which condition ({@code buffer}, {@code link 127.0.0.1:4700}, ...)
 * @param label  its kind within the key ({@code FULL}, {@code down}, {@code out-of-sync}, ...)
 * @param detail what an operator reads in the audit log
 */
record SourceCondition(String key, String label, String detail) {

    /** Replica states that {@code tapline status} shows and a source can do nothing about but report. */
    private static final Set<String> REPLICA_DEGRADED = Set.of("out-of-sync", "failed", "refused", "fenced",
            "shipping-paused");

    /**
     * The conditions of one source volume now, keyed, in a stable order: derived as
     * {@code tapline status} derives its "not synced because" (the same {@link ReplicaView} for
     * each link), less what every running replication passes through (a replica behind by the
     * records in flight, a link being opened, an online verify). {@code resync} is null where resyncs
     * are the normal course (cycle mode copies every cycle as one) or there is no engine (a snoop
     * without a source).
     */
    static Map<String, SourceCondition> of(BufferStatus s, List<ShipperStatus> links, ResyncStatus resync,
            String notShipping, long nowMillis) {
        Map<String, SourceCondition> out = new LinkedHashMap<>();
        if (s.mode() == BufferMode.FULL) {
            put(out, "buffer", "FULL", "buffer full: tracking changed chunks instead of their data (retained "
                    + s.retainedBytes() + " bytes, max " + s.maxBytes() + ")");
        }
        if (s.lostWrites() > 0) {
            put(out, "lost writes", "lost", s.lostWrites() + " writes not captured; a GAP record will name their range");
        }
        if (s.trackedChunks() != 0) {
            String tracked = StatusCommand.tracked(s.trackedChunks(), s.wholeVolumeCause());
            put(out, "tracked", s.trackedChunks() < 0 ? tracked : "chunks", tracked + " awaiting resync");
        }
        if (!s.storageError().isEmpty()) {
            put(out, "storage", "error", "buffer storage error: " + s.storageError());
        }
        if (!s.capturePaused().isEmpty()) {
            put(out, "capture", "paused", "capture " + s.capturePaused());
        }
        if (notShipping != null) {
            put(out, "shipping", "not shipping", notShipping);
        }
        if (resync != null && (resync.state().equals("resyncing") || resync.state().equals("waiting"))) {
            // one condition while it runs, whether comparing or waiting for a replica in between
            put(out, "resync", "active", (resync.state().equals("waiting") ? "a resync waits: " : "a resync runs: ")
                    + resync.detail());
        }
        s.released().forEach((remote, what) -> put(out, "released " + remote, "released", "remote " + remote + " "
                + what));
        for (ShipperStatus st : links) {
            String where = st.address() != null ? st.address() : st.remoteId();
            String error = st.lastError() == null || st.lastError().isBlank() ? null : st.lastError();
            long acked = s.acknowledged().getOrDefault(st.remoteId(), 0L);
            ReplicaView replica = ReplicaView.of(LinkStatusFile.Link.of(st, nowMillis), error, acked,
                    s.lastSequence(), true);
            if (REPLICA_DEGRADED.contains(replica.state())) {
                put(out, "replica " + where, replica.state(), "replica at " + where + " " + replica.state()
                        + (replica.reason() == null ? "" : ": " + replica.reason()));
            } else if (!st.connected() && error != null) { // a link never tried is not down yet
                put(out, "link " + where, "down", "link to " + where + " down: " + error);
            }
        }
        return out;
    }

    private static void put(Map<String, SourceCondition> out, String key, String label, String detail) {
        out.put(key, new SourceCondition(key, label, detail));
    }
}
