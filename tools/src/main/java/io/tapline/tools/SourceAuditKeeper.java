package io.tapline.tools;

import io.tapline.journey.source.SourceSide;
import io.tapline.log.buffer.BufferStatus;
import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running source volume's own audit log ({@link SourceAuditTrail}) as its status publisher keeps
 * it: opened at first use (with the start entry), told the conditions at each publish
 * ({@link SourceCondition}) and each operator's request, closed with the stop entry at the last
 * publish. A log that cannot be opened (its chain broken) or written is reported once, in the
 * source's log and in its status ({@link #error}), and left until the source restarts: the host's
 * I/O and the replication never depend on it.
 *
 * <p>Thread-safety: a running publish skips the log while an operator's request holds it (the next
 * one looks again); requests and the stop wait for it. A publish on a host's write path never comes
 * here ({@link SourceStatusFiles#publishForHost}).
 */
final class SourceAuditKeeper {
    private static final Logger LOG = LoggerFactory.getLogger(SourceAuditKeeper.class);

    private final ReentrantLock lock = new ReentrantLock();
    private SourceAuditTrail trail;
    /** Set once the log was given up or closed: it is not opened again in this run. */
    private boolean done;
    private volatile String error;

    /** Why the log is not being written, or null while it is. */
    String error() {
        return error;
    }

    /** At each status publication: the conditions now while {@code running}, the stop entry at the last. */
    void publish(SourceSide side, boolean running, long nowMillis) {
        if (running) {
            if (!lock.tryLock()) {
                return; // a request holds it; the next publish looks again
            }
        } else {
            lock.lock();
        }
        try {
            if (running && !open(side)) {
                return;
            }
            if (trail == null) {
                return;
            }
            BufferStatus s = side.buffer().status();
            if (running) {
                var resync = side.resync();
                boolean resyncsAreTheCourse = resync == null || resync.cycleStatus() != null; // cycle mode
                trail.observe(s, SourceCondition.of(s, side.linkStatuses(), resyncsAreTheCourse ? null
                        : resync.status(), side.notShippingBecause(), nowMillis), nowMillis);
            } else { // the links are closed by now: what they say is the stop's, not a condition's
                SourceAuditTrail t = trail;
                trail = null;
                done = true;
                t.stopped(s.lastSequence(), "buffer " + (s.storageError().isEmpty() ? "synced and closed"
                        : "closed after a storage error: " + s.storageError()) + "; conditions still open: "
                        + t.openConditions());
            }
        } catch (IOException | RuntimeException e) {
            giveUp(side, e, "");
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs an operator's request and records it, done or refused ({@code KIND request refused: WHY}),
     * durably, before the caller answers it. The log is held meanwhile: what the request causes (a
     * pause seen as a condition) is recorded by a later publish, after it. The request's outcome
     * stands whether or not the record could be written.
     */
    String operator(SourceSide side, String actor, String kind, OperatorControls.Request request) throws IOException {
        lock.lock();
        try {
            String outcome;
            try {
                outcome = request.run();
            } catch (IOException | RuntimeException e) {
                record(side, actor, kind + " request refused: " + (e.getMessage() == null ? e.toString()
                        : e.getMessage()));
                throw e;
            }
            record(side, actor, outcome);
            return outcome;
        } finally {
            lock.unlock();
        }
    }

    private void record(SourceSide side, String actor, String what) {
        try {
            if (open(side)) {
                trail.operator(side.buffer().lastSequence(), actor, what);
            }
        } catch (IOException | RuntimeException e) {
            giveUp(side, e, " (not recorded: " + what + " by " + actor + ")");
        }
    }

    /** Opens the log with its start entry unless it is open or was given up; whether it is open. */
    private boolean open(SourceSide side) throws IOException {
        if (trail == null && !done) {
            trail = SourceAuditTrail.start(side.volumeDir(), side.buffer().lastSequence(), startDetail(side));
        }
        return trail != null;
    }

    private void giveUp(SourceSide side, Exception e, String lost) {
        LOG.error("source audit log of {} not written, left until the source restarts: {}{}", side.volumeDir(),
                e.toString(), lost);
        error = e.getMessage() == null ? e.toString() : e.getMessage();
        done = true;
        if (trail != null) {
            try {
                trail.close();
            } catch (IOException ignored) {
                // reported above
            }
            trail = null;
        }
    }

    private static String startDetail(SourceSide side) {
        BufferStatus s = side.buffer().status();
        return "volume " + side.volume() + ", buffer " + s.durability() + ", "
                + side.buffer().recoveryReport().summary() + ", remotes " + side.linkStatuses().stream()
                        .map(l -> l.address() != null ? l.address() : l.remoteId()).toList();
    }
}
