package io.tapline.tools;

import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.buffer.BufferStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A source volume's own audit log ({@code <buffer>/<volume>/audit/}, the replayer's format and
 * hash chain, read with {@code tapline audit --data <buffer> --volume <volume>}): when the source
 * started and stopped, each operator's request to it ({@code tapline capture|ship|buffer discard|config}),
 * and every degraded condition ({@link SourceCondition}) as it began
 * ({@link AuditType#DEGRADED}) and ended ({@link AuditType#HEALED}), each with the buffer's last
 * sequence then. So a buffer that filled, a link that was down, a replica that refused or a primary
 * written by another program is on record at the source when it happened, also while no replica
 * can hear of it. Entries are made durable before {@link #observe} returns.
 *
 * <p>Conditions are looked at when the source publishes its status (about once a second and at
 * every link change): one that begins and ends between two looks is not seen, and one is logged as
 * ended only once it has been gone for {@link #ENDED_AFTER_MILLIS}. At a start, every
 * condition then present is logged again after the start entry (the trail does not remember the
 * last run's).
 *
 * <p>Not thread-safe: the caller serializes.
 */
final class SourceAuditTrail implements AutoCloseable {
    private static final String WHO = "source";

    private final AuditLog log;
    private final String who = who();
    private final Map<String, Held> held = new LinkedHashMap<>();
    private long gapRecordsSeen = -1;

    /** A condition logged as begun: first and last seen. */
    private static final class Held {
        final SourceCondition condition;
        final long sinceMillis;
        long lastSeenMillis;

        Held(SourceCondition condition, long sinceMillis) {
            this.condition = condition;
            this.sinceMillis = sinceMillis;
            this.lastSeenMillis = sinceMillis;
        }
    }

    /**
     * How long a condition must stay gone before it is logged as ended. A link that a failing
     * replayer drops ten times a second (its disk full, say) is then one condition for as long as
     * it lasts, and one that alternates with another (down, then refused) two, not an entry a look:
     * the log errs late on "ended", never early.
     */
    static final long ENDED_AFTER_MILLIS = 3_000;

    private SourceAuditTrail(AuditLog log) {
        this.log = log;
    }

    /**
     * Opens the volume folder's audit log and logs the start.
     *
     * @throws io.tapline.log.audit.AuditException when its chain is broken (it is not extended)
     */
    static SourceAuditTrail start(Path volumeDir, long lastSequence, String detail) throws IOException {
        AuditLog log = AuditLog.open(volumeDir);
        try {
            log.append(AuditType.CONFIG, lastSequence, 0, 0, 0, 0, 0, null, who(), "source started: " + detail);
            log.sync();
        } catch (IOException | RuntimeException e) {
            log.close();
            throw e;
        }
        return new SourceAuditTrail(log);
    }

    /**
     * Logs the conditions that began (a key, or a key's kind, not held) and those gone for
     * {@link #ENDED_AFTER_MILLIS} since they were last seen.
     */
    void observe(BufferStatus s, Map<String, SourceCondition> now, long nowMillis) throws IOException {
        boolean appended = false;
        for (var it = held.values().iterator(); it.hasNext(); ) {
            Held h = it.next();
            SourceCondition c = now.get(h.condition.key());
            if (c != null && c.label().equals(h.condition.label())) {
                h.lastSeenMillis = nowMillis;
            } else if (nowMillis - h.lastSeenMillis >= ENDED_AFTER_MILLIS) {
                it.remove();
                append(AuditType.HEALED, s.lastSequence(), "ended after "
                        + seconds(h.lastSeenMillis - h.sinceMillis) + ": " + h.condition.detail());
                appended = true;
            }
        }
        for (SourceCondition c : now.values()) {
            if (held.putIfAbsent(heldKey(c), new Held(c, nowMillis)) == null) {
                append(AuditType.DEGRADED, s.lastSequence(), c.detail());
                appended = true;
            }
        }
        if (gapRecordsSeen >= 0 && s.gapRecords() > gapRecordsSeen) {
            long n = s.gapRecords() - gapRecordsSeen;
            append(AuditType.DEGRADED, s.lastSequence(), n + (n == 1 ? " GAP record" : " GAP records")
                    + " captured (" + s.gapRecords() + " in all): a range the replicas cannot have from the"
                    + " records, named to them for a resync");
            appended = true;
        }
        gapRecordsSeen = s.gapRecords();
        if (appended) {
            log.sync();
        }
    }

    /** Logs an operator's request to the source, done or refused ({@code who}: the operator), durably. */
    void operator(long lastSequence, String who, String what) throws IOException {
        log.append(AuditType.CONFIG, lastSequence, 0, 0, 0, 0, 0, null, who, what);
        log.sync();
    }

    /** The keys of the conditions logged as begun and not ended ({@code none} when there are none). */
    String openConditions() {
        return held.isEmpty() ? "none"
                : String.join(", ", held.values().stream().map(h -> h.condition.key()).distinct().toList());
    }

    private static String heldKey(SourceCondition c) {
        return c.key() + '\u0000' + c.label();
    }

    /** Logs the stop and closes the log. */
    void stopped(long lastSequence, String detail) throws IOException {
        try {
            append(AuditType.CONFIG, lastSequence, "source stopped: " + detail);
            log.sync();
        } finally {
            log.close();
        }
    }

    @Override
    public void close() throws IOException {
        log.close();
    }

    private void append(AuditType type, long sequence, String detail) throws IOException {
        log.append(type, sequence, 0, 0, 0, 0, 0, null, who, detail);
    }

    private static String who() {
        try {
            return WHO + "@" + Actor.hostName();
        } catch (IOException e) {
            return WHO;
        }
    }

    private static String seconds(long millis) {
        return millis < 10_000 ? String.format(java.util.Locale.ROOT, "%.1f s", millis / 1000.0) : millis / 1000 + " s";
    }
}
