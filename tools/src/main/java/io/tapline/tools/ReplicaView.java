package io.tapline.tools;

/**
 * The state {@code tapline status} shows for one replica, from what the source last heard:
 * the replayer's own report, refined by the link ("behind" while records are unacknowledged,
 * "refused" when the replayer turns the source away, e.g. paused after a rollback, "fenced"
 * when the replica was promoted to primary (this source's generation is older),
 * "unreachable" while the link is down: the replica may have changed meanwhile, e.g. by a
 * rollback; "unknown" when it never reported or the source is not running). Only
 * {@link #CONSISTENT} counts as synced: it needs a live link and a report covering every
 * captured record.
 *
 * @param state   consistent, behind, out-of-sync, resyncing, failed, refused, fenced, unreachable or unknown
 * @param reason  why it is not consistent, or null
 * @param applied the replica's last applied sequence as reported (the ack when unknown)
 */
record ReplicaView(String state, String reason, long applied) {
    static final String CONSISTENT = "consistent";
    /**
     * A batch the replayer has kept unapplied this long is named in a behind replica's reason: its
     * disk (undo log, replica, audit log) is slow or hangs, which the link's liveness does not
     * show (the replayer's heartbeat comes from its event loop, not its apply thread).
     */
    static final long HELD_SHOWN_MILLIS = 5_000;
    private static final java.util.regex.Pattern ROLLED_BACK_TO = java.util.regex.Pattern.compile("rolled back to seq (\\d+)");

    static ReplicaView of(LinkStatusFile.Link link, String lastError, long acked, long captured, boolean fresh) {
        if (link == null) {
            return new ReplicaView("unknown", "no link status: the running source does not ship to this remote (taken"
                    + " off its configuration? its cursor keeps records: `tapline buffer forget-remote`), or it never"
                    + " ran with it", acked);
        }
        String last = link.replicaState() == null ? "never reported"
                : "last reported " + link.replicaState() + " at seq " + link.replicaApplied();
        long applied = link.replicaState() == null ? acked : link.replicaApplied();
        if (!fresh) {
            return new ReplicaView("unknown", "the source is not running (" + last + ")", applied);
        }
        if (lastError != null && lastError.startsWith("shipping paused")) {
            return new ReplicaView("shipping-paused", lastError + "; " + last, applied);
        }
        if (lastError != null && lastError.startsWith("refused by replayer: fenced:")) {
            // The replica was promoted: this source is of an older generation and must not write it.
            return new ReplicaView("fenced", lastError, applied);
        }
        if (lastError != null && lastError.startsWith("refused by replayer")) {
            // After a rollback the replayer's refusal names where the replica is now; its last report is older.
            java.util.regex.Matcher m = ROLLED_BACK_TO.matcher(lastError);
            return new ReplicaView("refused", lastError, m.find() ? Long.parseLong(m.group(1)) : applied);
        }
        if (!link.connected()) {
            return new ReplicaView("unreachable", (lastError != null ? lastError : "link down") + "; " + last, applied);
        }
        if (link.replicaState() == null) {
            return new ReplicaView("unknown", "the replayer has not reported", acked);
        }
        String reason = link.replicaReason() == null || link.replicaReason().isEmpty() ? null : link.replicaReason();
        if (link.replicaState().equals(CONSISTENT) && (acked < captured || link.replicaApplied() < captured)) {
            // The report must cover every captured record: a state reported before the last ACKs
            // (the link file is rewritten once a second) says nothing about them.
            return new ReplicaView("behind", withHeld((captured - Math.min(acked, link.replicaApplied()))
                    + " records to apply or to hear about", link), link.replicaApplied());
        }
        if (!link.replicaState().equals(CONSISTENT)) {
            reason = withHeld(reason, link); // a resync whose writes wait on the disk, say
        }
        return new ReplicaView(link.replicaState(), reason, Math.max(link.replicaApplied(), 0));
    }

    /** {@code reason}, and the batch the replayer holds unapplied when it has for {@link #HELD_SHOWN_MILLIS}. */
    private static String withHeld(String reason, LinkStatusFile.Link link) {
        if (link.replicaUnappliedForMillis() < HELD_SHOWN_MILLIS) {
            return reason;
        }
        String held = "the replayer has held a received batch unapplied for " + link.replicaUnappliedForMillis() / 1000
                + " s: its disk is slow or not answering";
        return reason == null ? held : reason + "; " + held;
    }
}
