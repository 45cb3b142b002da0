package io.tapline.tools;

/**
 * The state {@code tapline status} shows for one replica, from what the source last heard:
 * the replayer's own report, refined by the link ("behind" while records are unacknowledged,
 * "refused" when the replayer turns the source away, e.g. paused after a rollback, "unknown"
 * when it never reported). Only {@link #CONSISTENT} counts as synced.
 *
 * @param state   consistent, behind, out-of-sync, resyncing, failed, refused or unknown
 * @param reason  why it is not consistent, or null
 * @param applied the replica's last applied sequence as reported (the ack when unknown)
 */
record ReplicaView(String state, String reason, long applied) {
    static final String CONSISTENT = "consistent";

    static ReplicaView of(LinkStatusFile.Link link, String lastError, long acked, long captured) {
        if (lastError != null && lastError.startsWith("refused by replayer")) {
            return new ReplicaView("refused", lastError, link.replicaState() == null ? acked : link.replicaApplied());
        }
        if (link == null || link.replicaState() == null) {
            return new ReplicaView("unknown", lastError != null ? lastError : "the replayer has not reported", acked);
        }
        String reason = link.replicaReason() == null || link.replicaReason().isEmpty() ? null : link.replicaReason();
        if (link.replicaState().equals(CONSISTENT) && (acked < captured || link.replicaApplied() < captured)) {
            // The report must cover every captured record: a state reported before the last ACKs
            // (the link file is rewritten once a second) says nothing about them.
            return new ReplicaView("behind", (captured - Math.min(acked, link.replicaApplied()))
                    + " records to apply or to hear about", link.replicaApplied());
        }
        return new ReplicaView(link.replicaState(), reason, Math.max(link.replicaApplied(), 0));
    }
}
