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
    /** The volume's own audit log, brought up to date at each publish. */
    private final SourceAuditKeeper audit = new SourceAuditKeeper();

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
        audit.publish(side, running, now); // first: a log that cannot be written shows in the status below
        writeFiles(side, running, now);
    }

    /** On a host's write path: the files only; the audit log (which may fsync) waits for the next publish. */
    @Override
    public void publishForHost(SourceSide side) {
        writeFiles(side, true, System.currentTimeMillis());
    }

    private void writeFiles(SourceSide side, boolean running, long now) {
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
        var resync = side.resync();
        try {
            LinkStatusFile.write(side.volumeDir(), links);
            String notShipping = side.notShippingBecause();
            if (hasSourceStatus == null) { // a file an earlier run left (with a note, perhaps): looked for once
                hasSourceStatus = java.nio.file.Files.exists(side.volumeDir().resolve(SourceStatusFile.NAME));
            }
            // A source without a resync engine (a snoop) writes the file only for a note on shipping,
            // and again once there is one, so that a cleared note does not linger.
            String auditError = audit.error();
            if (resync != null || notShipping != null || auditError != null || hasSourceStatus) {
                new SourceStatusFile(resync == null ? null : resync.status(), side.buffer().storageError(), running,
                        now, resync == null ? null : resync.cycleStatus(), notShipping, auditError)
                        .write(side.volumeDir());
                hasSourceStatus = true;
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("status not written dir={} error={}", side.volumeDir(), e.toString());
        }
    }

    /**
     * Runs an operator's request to {@code side} and records it in the source's audit log
     * ({@link SourceAuditKeeper#operator}).
     */
    String operator(SourceSide side, String actor, String kind, OperatorControls.Request request) throws IOException {
        return audit.operator(side, actor, kind, request);
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
}
