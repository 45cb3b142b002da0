package io.tapline.journey.source;

import io.tapline.journey.shipper.Shipper;
import io.tapline.log.buffer.BufferMode;
import io.tapline.log.buffer.BufferStatus;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-remote retention: one dead remote must not hold the others. When the buffer holds more than a
 * quarter of its high-water mark (where a resync's writes start waiting for room) and a remote
 * whose link has been down for at least {@code after} is what keeps
 * records the connected remotes acknowledged, the buffer stops keeping them for it
 * ({@link CaptureBuffer#releaseRemote}): its cursor moves to what every connected remote
 * acknowledged, the space returns, and the others go on (journal records, or a resync epoch
 * without it). When it returns, its replica is behind the buffer and a full resync brings it
 * back: the cost of a whole-volume compare, once, instead of every replica waiting for it.
 *
 * <p>Nothing is released while no remote is connected (the changed chunks a FULL buffer tracks
 * then heal every replica at less cost), nor from a remote that is connected, however slow, nor
 * from one an operator paused ({@code tapline ship pause} keeps its records).
 * Runs on the source's housekeeping thread, once a second.
 */
final class LaggingRemoteRelease implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(LaggingRemoteRelease.class);

    private final CaptureBuffer buffer;
    private final List<Shipper> shippers;
    private final long afterMillis;

    LaggingRemoteRelease(CaptureBuffer buffer, List<Shipper> shippers, Duration after) {
        this.buffer = buffer;
        this.shippers = List.copyOf(shippers);
        this.afterMillis = after.toMillis();
    }

    @Override
    public void run() {
        try {
            check();
        } catch (IOException | RuntimeException e) {
            log.warn("volume={} lagging remotes not released: {}", buffer.volumeId(), e.toString());
        }
    }

    void check() throws IOException {
        BufferStatus st = buffer.status();
        if (st.mode() == BufferMode.DATA && st.retainedBytes() <= st.highWaterBytes() / 4) {
            return; // room: the records are kept for it (a resync's writes wait above a quarter of high water)
        }
        long holdTo = Long.MAX_VALUE;
        for (Shipper s : shippers) {
            if (s.connected()) {
                holdTo = Math.min(holdTo, buffer.acknowledged(s.cursorId()));
            }
        }
        if (holdTo == Long.MAX_VALUE) {
            return; // nobody is waiting
        }
        for (Shipper s : shippers) {
            long down = s.downForMillis();
            // an operator's `ship pause` keeps the records (runbook): only a link that is down is released
            if (!s.connected() && s.paused().isEmpty() && down >= afterMillis
                    && buffer.acknowledged(s.cursorId()) < holdTo) {
                buffer.releaseRemote(s.cursorId(), holdTo, "link to " + s.config().remoteId() + " down for "
                        + down / 1000 + " s while the buffer held " + st.retainedBytes() + " bytes, " + st.mode()
                        + " (--release-remote-after "
                        + Duration.ofMillis(afterMillis) + ")");
            }
        }
    }
}
