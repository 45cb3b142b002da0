package io.tapline.tools;

import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks.WholeVolumeCause;
import io.tapline.log.volume.ImageStamp;
import io.tapline.wedge.capture.VolumeSequencer.PrimaryWrites;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices, while a journal-mode wedge serves its primary, that another program changed the image
 * (a loop mount, {@code dd}, a restore; QEMU's tools are already refused by its locks): the
 * image's {@link ImageStamp} is taken as the wedge's own writes left it (right after a batch of
 * them, on the applying thread: {@link #ownWritesSettled}; else at the watch's next idle look)
 * and compared once a second at an idle moment with no own write since. A change then can only
 * be someone else's: every chunk is tracked ({@link WholeVolumeCause#PRIMARY_WRITTEN_WHILE_SERVED}), so the
 * resync compares the whole volume with each replica and copies what differs; status names the
 * cause until then.
 *
 * <p>What it cannot see: a change made while the host writes (between the wedge's own writes, it
 * is taken for theirs), which only {@code tapline verify} or {@code resync --full} finds. An
 * "idle moment" is one where the wedge's write counts ({@link PrimaryWrites}) are equal and idle
 * before and after the image is looked at, so no write of its own overlaps the look.
 *
 * <p>Not thread-safe: one scheduled thread calls {@link #check}.
 */
final class PrimaryWatch {
    private static final Logger LOG = LoggerFactory.getLogger(PrimaryWatch.class);
    /** Milliseconds between looks; 0 turns the watch off ({@code -Dtapline.wedge.outsideWritesCheckMillis}). */
    static final long CHECK_MILLIS = Long.getLong("tapline.wedge.outsideWritesCheckMillis", 1000);

    private final Path primary;
    private final CaptureBuffer buffer;
    private final Supplier<PrimaryWrites> ownWrites;
    private ImageStamp baseline;
    private long baselineWrites = -1;

    PrimaryWatch(Path primary, CaptureBuffer buffer, Supplier<PrimaryWrites> ownWrites) {
        this.primary = primary;
        this.buffer = buffer;
        this.ownWrites = ownWrites;
    }

    /**
     * Looks every {@link #CHECK_MILLIS} on a daemon thread of its own until closed (nothing when
     * the watch is off). A failed look is logged and the next one tries again.
     */
    static AutoCloseable every(Path primary, CaptureBuffer buffer, io.tapline.wedge.server.WedgeServer wedge) {
        if (CHECK_MILLIS <= 0) {
            return () -> { };
        }
        PrimaryWatch watch = new PrimaryWatch(primary, buffer, wedge::primaryWrites);
        wedge.whenOwnWritesSettle(watch::ownWritesSettled);
        java.util.concurrent.ScheduledExecutorService looks = java.util.concurrent.Executors
                .newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "tapline-primary-watch-" + buffer.volumeId());
                    t.setDaemon(true);
                    return t;
                });
        looks.scheduleWithFixedDelay(() -> {
            try {
                watch.check();
            } catch (IOException | RuntimeException e) {
                LOG.warn("volume={} primary {} not looked at ({}); the next look tries again", buffer.volumeId(),
                        primary, e.toString());
            }
        }, CHECK_MILLIS, CHECK_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        return () -> {
            looks.shutdownNow();
            looks.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        };
    }

    /**
     * On the wedge's applying thread, right after a batch of its own writes with none left in
     * progress: the image as they left it becomes the baseline (unless a write of its own began
     * meanwhile; then the watch's next idle look takes it). A failed look leaves it to that too.
     */
    void ownWritesSettled() {
        PrimaryWrites before = ownWrites.get();
        if (!before.idle()) {
            return;
        }
        ImageStamp now;
        try {
            now = ImageStamp.of(primary);
        } catch (IOException e) {
            return;
        }
        if (now != null && ownWrites.get().equals(before)) {
            synchronized (this) {
                if (before.ended() > baselineWrites) {
                    baseline = now;
                    baselineWrites = before.ended();
                }
            }
        }
    }

    /**
     * Looks once. Returns what another program changed (then every chunk is tracked), or null:
     * nothing changed, the wedge was writing, or this look only took a new baseline.
     */
    synchronized String check() throws IOException {
        PrimaryWrites before = ownWrites.get();
        if (!before.idle()) {
            return null;
        }
        ImageStamp now;
        try {
            now = ImageStamp.of(primary);
        } catch (NoSuchFileException e) {
            now = null;
        }
        if (!ownWrites.get().equals(before) || now == null && baseline == null) {
            return null; // a write of its own overlapped the look, or nothing to compare yet
        }
        if (baseline == null || baselineWrites != before.ended()) {
            baseline = now; // after the wedge's own writes: the image as they left it
            baselineWrites = before.ended();
            return null;
        }
        String changed = now == null ? "it is gone" : baseline.changedTo(now);
        if (changed == null) {
            return null;
        }
        baseline = now;
        boolean already = buffer.changedChunks().wholeVolumeCause() != null;
        buffer.changedChunks().markAll(WholeVolumeCause.PRIMARY_WRITTEN_WHILE_SERVED);
        LOG.warn("volume={} primary {} was changed by another program while the wedge served it ({}): its replicas"
                + " may differ and the buffer never saw those writes; {}", buffer.volumeId(), primary, changed,
                already ? "the whole volume is already tracked" : "every chunk is tracked and a resync compares the"
                        + " whole volume with each replica");
        return changed;
    }
}
