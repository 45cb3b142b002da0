package io.tapline.tools;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.journey.source.SourceSide;
import io.tapline.journey.source.StatusPublisher;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The status a {@link SourceSide} publishes for {@code tapline status} in other processes, the
 * same for the wedge and the snoop: {@code link-status.json} ({@link LinkStatusFile}: each
 * shipper and other link) and, for a volume with a resync engine, {@code source-status.json}
 * ({@link SourceStatusFile}). Once the source stopped, the links are marked stopped (the replicas'
 * last reported states stay readable) or, for a live snoop, emptied. Advisory: a failed write is
 * logged at DEBUG and retried by the next call.
 */
final class SourceStatusFiles implements StatusPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(SourceStatusFiles.class);

    /** What the link file says once the source stopped. */
    enum Stopped { LINKS_MARKED_STOPPED, LINKS_EMPTIED }

    private final Stopped stopped;
    private final Consumer<ShipperStatus> eachRunningLink;
    /** Whether the volume's source-status.json exists; null until the first publish looked. */
    private volatile Boolean hasSourceStatus;
    /** Held while the audit trail is looked at: a publish on a host's write path skips it rather than wait. */
    private final java.util.concurrent.locks.ReentrantLock trailLock = new java.util.concurrent.locks.ReentrantLock();
    private SourceAuditTrail trail;
    private boolean trailRefused;
    /** Why the audit trail is not written, for status; null while it is. */
    private volatile String auditError;

    /**
     * @param eachRunningLink told each link's snapshot while the source runs (the wedge looks for a
     *                        refusal that fences it)
     */
    SourceStatusFiles(Stopped stopped, Consumer<ShipperStatus> eachRunningLink) {
        this.stopped = stopped;
        this.eachRunningLink = eachRunningLink;
    }

    SourceStatusFiles(Stopped stopped) {
        this(stopped, s -> { });
    }

    @Override
    public void publish(SourceSide side, boolean running) {
        long now = System.currentTimeMillis();
        List<LinkStatusFile.Link> links = new ArrayList<>();
        if (running || stopped == Stopped.LINKS_MARKED_STOPPED) {
            for (ShipperStatus st : side.linkStatuses()) {
                if (running) {
                    eachRunningLink.accept(st);
                }
                LinkStatusFile.Link link = LinkStatusFile.Link.of(st, now);
                links.add(running ? link : link.stopped(now));
            }
        }
        audit(side, running, now); // first: a log that cannot be written shows in the status written below
        var resync = side.resync();
        try {
            LinkStatusFile.write(side.volumeDir(), links);
            String notShipping = side.notShippingBecause();
            if (hasSourceStatus == null) { // a file an earlier run left (with a note, perhaps): looked for once
                hasSourceStatus = java.nio.file.Files.exists(side.volumeDir().resolve(SourceStatusFile.NAME));
            }
            // A source without a resync engine (a snoop) writes the file only for a note on shipping,
            // and again once there is one, so that a cleared note does not linger.
            String audit = auditError;
            if (resync != null || notShipping != null || audit != null || hasSourceStatus) {
                new SourceStatusFile(resync == null ? null : resync.status(), side.buffer().storageError(), running,
                        now, resync == null ? null : resync.cycleStatus(), notShipping, audit).write(side.volumeDir());
                hasSourceStatus = true;
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("status not written dir={} error={}", side.volumeDir(), e.toString());
        }
    }

    /**
     * Brings the volume's own audit log up to date ({@link SourceAuditTrail}): opened at the first
     * running publish, told the conditions now at each, closed with a stop entry at the last. A log
     * that cannot be opened or written is reported once and left: the host's I/O and the
     * replication do not depend on it.
     */
    private void audit(SourceSide side, boolean running, long now) {
        if (running) {
            if (!trailLock.tryLock()) {
                return; // the housekeeping thread is at it; the next publish looks again
            }
        } else {
            trailLock.lock();
        }
        try {
            if (trail == null && running && !trailRefused) {
                trail = SourceAuditTrail.start(side.volumeDir(), side.buffer().lastSequence(), startDetail(side));
            }
            if (trail == null) {
                return;
            }
            io.tapline.log.buffer.BufferStatus s = side.buffer().status();
            if (running) {
                var resync = side.resync();
                boolean resyncsAreTheCourse = resync == null || resync.cycleStatus() != null; // cycle mode
                trail.observe(s, SourceCondition.of(s, side.linkStatuses(), resyncsAreTheCourse ? null
                        : resync.status(), side.notShippingBecause(), now), now);
            } else { // the links are closed by now: what they say is the stop's, not a condition's
                SourceAuditTrail t = trail;
                trail = null;
                trailRefused = true; // a source side publishes nothing after its stop
                t.stopped(s.lastSequence(), "buffer " + (s.storageError().isEmpty() ? "synced and closed"
                        : "closed after a storage error: " + s.storageError()) + "; conditions still open: "
                        + t.openConditions());
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("source audit log of {} not written, left until the source restarts: {}", side.volumeDir(),
                    e.toString());
            auditError = e.getMessage() == null ? e.toString() : e.getMessage();
            trailRefused = true;
            if (trail != null) {
                closeQuietly(trail);
                trail = null;
            }
        } finally {
            trailLock.unlock();
        }
    }

    /**
     * Runs an operator's request to {@code side} and records it, done or refused, in the source's
     * audit log (opened first if no publish has yet), durably, before the caller answers it. The log
     * is held meanwhile: what the request causes (a pause seen as a condition) is recorded by a
     * later publish, after it. A log that cannot be written is reported as at a publish; the
     * request's outcome stands.
     */
    String operator(SourceSide side, String actor, String kind, OperatorControls.Request request) throws IOException {
        trailLock.lock();
        try {
            String done;
            try {
                done = request.run();
            } catch (IOException | RuntimeException e) {
                record(side, actor, kind + " request refused: " + (e.getMessage() == null ? e.toString()
                        : e.getMessage()));
                throw e;
            }
            record(side, actor, done);
            return done;
        } finally {
            trailLock.unlock();
        }
    }

    /** Under {@link #trailLock}. */
    private void record(SourceSide side, String actor, String what) {
        try {
            if (trail == null && !trailRefused) {
                trail = SourceAuditTrail.start(side.volumeDir(), side.buffer().lastSequence(), startDetail(side));
            }
            if (trail != null) {
                trail.operator(side.buffer().lastSequence(), actor, what);
            }
        } catch (IOException | RuntimeException e) {
            LOG.error("source audit log of {} not written, left until the source restarts: {} (not recorded: {} by {})",
                    side.volumeDir(), e.toString(), what, actor);
            auditError = e.getMessage() == null ? e.toString() : e.getMessage();
            trailRefused = true;
            if (trail != null) {
                closeQuietly(trail);
                trail = null;
            }
        }
    }

    /**
     * Where {@code side}'s operator requests are recorded: its source audit log when its status is
     * published by a {@link SourceStatusFiles}; else nowhere.
     */
    static OperatorControls.AdminAudit operatorAuditOf(SourceSide side) {
        return side.statusPublisher() instanceof SourceStatusFiles files
                ? (actor, kind, request) -> files.operator(side, actor, kind, request)
                : (actor, kind, request) -> request.run();
    }

    private static void closeQuietly(SourceAuditTrail t) {
        try {
            t.close();
        } catch (IOException ignored) {
            // the caller reports the failure that led here
        }
    }

    private static String startDetail(SourceSide side) {
        io.tapline.log.buffer.BufferStatus s = side.buffer().status();
        return "volume " + side.volume() + ", buffer " + s.durability() + ", "
                + side.buffer().recoveryReport().summary() + ", remotes " + side.linkStatuses().stream()
                        .map(l -> l.address() != null ? l.address() : l.remoteId()).toList();
    }
}
