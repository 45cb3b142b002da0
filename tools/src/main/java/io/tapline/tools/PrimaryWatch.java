package io.tapline.tools;

import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks.WholeVolumeCause;
import io.tapline.log.volume.ImageStamp;
import io.tapline.wedge.capture.VolumeSequencer.PrimaryWrites;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices, while a journal-mode wedge serves its primary, that another program changed the image
 * (a loop mount, {@code dd}, a restore; QEMU's tools are already refused by its locks).
 *
 * <p>How: every {@link #LOOK_MILLIS} the watch reads the wedge's own write counts
 * ({@link PrimaryWrites}, two volatile reads). When they moved since its baseline and no write is
 * in progress, it takes the image's {@link ImageStamp} as the wedge's writes left it (the counts
 * read again after the {@code stat} must be unchanged, so no write of its own overlaps it). Every
 * {@link #CHECK_MILLIS}, when they have not moved, it compares the image with that baseline: a
 * change then can only be someone else's. Every chunk is tracked
 * ({@link WholeVolumeCause#PRIMARY_WRITTEN_WHILE_SERVED}), so the resync compares the whole
 * volume with each replica and copies what differs; status names the cause until then. The
 * wedge's data path is untouched but for two counters; a {@code stat} costs ~2 µs here, at most
 * once a look.
 *
 * <p>What it cannot see: a change made while the host writes, or within a look of its last
 * write (taken for the wedge's own), which only {@code tapline verify} or {@code resync --full}
 * finds.
 *
 * <p>Not thread-safe: one scheduled thread calls {@link #look}.
 */
final class PrimaryWatch {
    private static final Logger LOG = LoggerFactory.getLogger(PrimaryWatch.class);
    /** Milliseconds between comparisons; 0 turns the watch off ({@code -Dtapline.wedge.outsideWritesCheckMillis}). */
    static final long CHECK_MILLIS = Long.getLong("tapline.wedge.outsideWritesCheckMillis", 1000);
    /** Milliseconds between looks at the write counts: how soon after its writes the image's baseline is taken. */
    static final long LOOK_MILLIS = 20;

    private final Path primary;
    private final CaptureBuffer buffer;
    private final Supplier<PrimaryWrites> ownWrites;
    private final long compareEveryNanos;
    private ImageStamp baseline;
    private long baselineWrites = -1;
    private long lastCompareNanos;

    /** A watch that compares at most every {@code compareEveryNanos} (0: at every look with no own write). */
    PrimaryWatch(Path primary, CaptureBuffer buffer, Supplier<PrimaryWrites> ownWrites, long compareEveryNanos) {
        this.primary = primary;
        this.buffer = buffer;
        this.ownWrites = ownWrites;
        this.compareEveryNanos = compareEveryNanos;
        this.lastCompareNanos = System.nanoTime();
    }

    /**
     * Looks every {@link #LOOK_MILLIS} on a daemon thread of its own until closed (nothing when
     * the watch is off). A failed look is logged and the next one tries again.
     */
    static AutoCloseable every(Path primary, CaptureBuffer buffer, WedgeServer wedge) {
        if (CHECK_MILLIS <= 0) {
            return () -> { };
        }
        PrimaryWatch watch = new PrimaryWatch(primary, buffer, wedge::primaryWrites,
                TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS));
        ScheduledExecutorService looks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tapline-primary-watch-" + buffer.volumeId());
            t.setDaemon(true);
            return t;
        });
        looks.scheduleWithFixedDelay(() -> {
            try {
                watch.look();
            } catch (IOException | RuntimeException e) {
                LOG.warn("volume={} primary {} not looked at ({}); the next look tries again", buffer.volumeId(),
                        primary, e.toString());
            }
        }, LOOK_MILLIS, LOOK_MILLIS, TimeUnit.MILLISECONDS);
        return () -> {
            looks.shutdownNow();
            looks.awaitTermination(5, TimeUnit.SECONDS);
        };
    }

    /**
     * Looks once. Returns what another program changed (then every chunk is tracked), or null:
     * nothing changed, the wedge was writing, this look only took a new baseline, or no
     * comparison was due.
     */
    String look() throws IOException {
        PrimaryWrites before = ownWrites.get();
        if (!before.idle()) {
            return null;
        }
        boolean ownWritesSince = baseline == null || baselineWrites != before.ended();
        long now = System.nanoTime();
        if (!ownWritesSince && now - lastCompareNanos < compareEveryNanos) {
            return null;
        }
        ImageStamp image;
        try {
            image = ImageStamp.of(primary);
        } catch (NoSuchFileException e) {
            image = null;
        }
        if (!ownWrites.get().equals(before) || image == null && baseline == null) {
            return null; // a write of its own overlapped the look, or nothing to compare yet
        }
        if (ownWritesSince) {
            baseline = image; // the image as the wedge's own writes left it
            baselineWrites = before.ended();
            return null;
        }
        lastCompareNanos = now;
        String changed = image == null ? "it is gone" : baseline.differences(image);
        if (changed == null) {
            return null;
        }
        baseline = image;
        boolean already = buffer.changedChunks().wholeVolumeCause() != null;
        buffer.changedChunks().markAll(WholeVolumeCause.PRIMARY_WRITTEN_WHILE_SERVED);
        LOG.warn("volume={} primary {} was changed by another program while the wedge served it ({}): its replicas"
                + " may differ and the buffer never saw those writes; {}", buffer.volumeId(), primary, changed,
                already ? "the whole volume is already tracked" : "every chunk is tracked and a resync compares the"
                        + " whole volume with each replica");
        return changed;
    }
}
