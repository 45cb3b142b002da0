package io.tapline.replay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import java.io.IOException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one administrator's request on a journey connection: ROLLBACK (with ADMIN_PROGRESS
 * while undo records are applied), RESUME, PROMOTE or DEMOTE (see {@link VolumeRole}), answered
 * by ADMIN_DONE, then the connection closes.
 *
 * <p>Policy: a rollback pauses the volume first. The live source session, if any, is ended with
 * an ERROR; sources are refused while the rollback runs and, after it, with the reason
 * "volume V rolled back to seq N; resume with `tapline resume` (...)" until RESUME.
 * A second administrator's operation on the same volume is refused while one runs.
 *
 * <p>Threads: {@link #handle} on the channel's event loop; the work on the volume's thread.
 */
final class AdminHandler {
    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    private static final long PROGRESS_EVERY = 256;

    private final ReplayConfig config;
    private final Function<String, VolumeHost> hosts;
    private final Channel channel;

    AdminHandler(ReplayConfig config, Function<String, VolumeHost> hosts, Channel channel) {
        this.config = config;
        this.hosts = hosts;
        this.channel = channel;
    }

    void handle(AdminRequest req) {
        // The credential (without TLS) was checked by PeerGate before this request was handed here.
        String idProblem = VolumeIds.problem(req.volumeId());
        if (idProblem != null) {
            done(false, 0, "bad volume id: " + idProblem);
            return;
        }
        VolumeHost h = hosts.apply(req.volumeId());
        if (req.action() == AdminRequest.ROLLBACK && h.adminBusy()) {
            // Refused now, not after the running operation: its target check would queue behind it on
            // the volume's thread, and then run a second rollback over the first one's result (both
            // said "rolled back", the first one's message already false: probe AB D2).
            done(false, 0, busy(req));
            return;
        }
        if (req.action() == AdminRequest.ROLLBACK) {
            // A target that cannot be reached (an unknown mark, a sequence outside the window) is
            // refused before the source's session is ended for it: a refused rollback interrupts
            // nothing, and nothing is audited as degraded. Resolved again once exclusive.
            h.executor().execute(() -> {
                try {
                    ReplicaVolume v = h.openExisting();
                    checkNotBeforeDemotion(h.role(), v.resolveTarget(req.targetKind(), req.value(), req.markName()),
                            req.volumeId());
                } catch (RefusedException e) {
                    done(false, 0, e.getMessage());
                    return;
                } catch (IOException | RuntimeException e) {
                    log.error("volume={} admin request failed: {}", req.volumeId(), e.toString());
                    done(false, 0, "replayer error: " + e.getMessage());
                    return;
                }
                run(req, h);
            });
            return;
        }
        run(req, h);
    }

    /** The request, authenticated (and a rollback's target found reachable): exclusive of sources unless a resume. */
    private void run(AdminRequest req, VolumeHost h) {
        boolean exclusive = req.action() != AdminRequest.RESUME;
        boolean sessionLive = h.sessionLive();
        if (exclusive && !h.beginAdmin(pauseReason(req))) {
            done(false, 0, busy(req));
            return;
        }
        log.info("admin request volume={} actor={} conn={} {}", req.volumeId(), req.actor(), channel.remoteAddress(),
                req);
        h.executor().execute(() -> {
            long seq = 0;
            try {
                switch (req.action()) {
                    case AdminRequest.PROMOTE -> {
                        String m = h.promote(req.actor(), (req.value() & AdminRequest.FORCE) != 0, req.markName(),
                                sessionLive, AdminRequest.minimumGeneration(req.value()));
                        done(true, h.role().generation(), m);
                    }
                    case AdminRequest.DEMOTE -> {
                        String m = h.demote(req.actor(), (req.value() & AdminRequest.HAND_OVER) != 0);
                        done(true, h.role().generation(), m);
                    }
                    case AdminRequest.ROLLBACK -> {
                        ReplicaVolume v = h.openExisting();
                        seq = v.lastApplied();
                        long target = v.resolveTarget(req.targetKind(), req.value(), req.markName());
                        checkNotBeforeDemotion(h.role(), target, req.volumeId());
                        long from = v.lastApplied();
                        long n = v.rollback(target, req.actor(), (d, t) -> {
                            if (d % PROGRESS_EVERY == 0 || d == t) {
                                channel.writeAndFlush(new JourneyMessage.AdminProgress(d, t));
                            }
                        });
                        done(true, target, "volume " + req.volumeId() + " rolled back from seq " + from + " to seq "
                                + target + " (" + n + " undo records applied); " + v.stateHere() + "; "
                                + v.pausedReason());
                    }
                    default -> {
                        ReplicaVolume v = h.openExisting();
                        seq = v.lastApplied();
                        boolean wasPaused = v.pausedReason() != null;
                        v.resume(req.actor());
                        done(true, v.lastApplied(), wasPaused ? "volume " + req.volumeId() + " resumed at seq "
                                + v.lastApplied() : "volume " + req.volumeId() + " was not paused (at seq "
                                + v.lastApplied() + "): nothing to resume");
                    }
                }
            } catch (RefusedException e) {
                done(false, seq, e.getMessage());
            } catch (IOException | RuntimeException e) {
                log.error("volume={} admin request failed: {}", req.volumeId(), e.toString());
                done(false, seq, "replayer error: " + e.getMessage());
            } finally {
                if (exclusive) {
                    h.endAdmin();
                }
            }
        });
    }

    private static String busy(AdminRequest req) {
        return "volume busy: another administrator's operation on volume " + req.volumeId() + " is running";
    }

    private static String pauseReason(AdminRequest req) {
        return switch (req.action()) {
            case AdminRequest.PROMOTE -> "being promoted by " + req.actor();
            case AdminRequest.DEMOTE -> "being demoted by " + req.actor();
            default -> "paused for rollback by " + req.actor();
        };
    }

    /**
     * After a demotion the replica holds writes made outside the log while it was primary: undo
     * records older than the demotion no longer describe it, so no rollback may reach past it.
     */
    private static void checkNotBeforeDemotion(VolumeRole role, long target, String volumeId) throws RefusedException {
        if (!role.primary() && role.millis() != 0 && target < role.sequence()) {
            throw new RefusedException("rollback target seq " + target + " is before seq " + role.sequence()
                    + ", where volume " + volumeId + " was demoted after serving writes as primary (generation "
                    + role.generation() + "): undo records older than that no longer describe the replica");
        }
    }

    private void done(boolean ok, long seq, String message) {
        String m = message == null ? "" : message;
        channel.writeAndFlush(new JourneyMessage.AdminDone(ok, seq, m)).addListener(ChannelFutureListener.CLOSE);
    }
}
