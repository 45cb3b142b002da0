package io.tapline.replay;

import io.tapline.journey.JourneyMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import io.tapline.log.undo.UndoConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the replayer holds for one volume while it runs: the one thread that does its file
 * I/O (so a slow volume never blocks another, nor the event loop), the open {@link ReplicaVolume},
 * and the one session allowed to feed it.
 *
 * <p>Thread-safety: {@link #claim}, {@link #release} and {@link #status} from any thread; the
 * volume itself is touched only by tasks on {@link #executor()}, which run in submission order.
 */
final class VolumeHost {
    private static final Logger log = LoggerFactory.getLogger(VolumeHost.class);

    private final String volumeId;
    private final Path dataDir;
    private final UndoConfig undoConfig;
    private final AtomicBoolean adminBusy = new AtomicBoolean();
    private final ExecutorService executor;
    private final AtomicReference<ReplaySession> session = new AtomicReference<>();
    private volatile ReplicaVolume volume;

    VolumeHost(String volumeId, Path dataDir, UndoConfig undoConfig) {
        this.volumeId = volumeId;
        this.dataDir = dataDir;
        this.undoConfig = undoConfig;
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "tapline-replay-" + volumeId);
            t.setDaemon(true);
            return t;
        });
    }

    ExecutorService executor() {
        return executor;
    }

    /**
     * Makes {@code candidate} the volume's session unless a live one holds it. A session whose
     * channel is no longer active is closed and replaced.
     */
    boolean claim(ReplaySession candidate) {
        while (true) {
            ReplaySession current = session.get();
            if (current != null && current.isLive()) {
                return false;
            }
            if (session.compareAndSet(current, candidate)) {
                if (current != null) {
                    log.debug("volume={} replacing dead session {}", volumeId, current);
                    current.close("replaced by a new session");
                }
                return true;
            }
        }
    }

    /** Gives the volume up if {@code owner} holds it. */
    void release(ReplaySession owner) {
        session.compareAndSet(owner, null);
    }

    /**
     * On the executor: opens the volume (first time) and checks that {@code hello} matches it.
     *
     * @throws RefusedException also when the volume is paused after a rollback
     */
    ReplicaVolume open(JourneyMessage.Hello hello) throws IOException, RefusedException {
        ReplicaVolume v = volume;
        if (v == null) {
            v = ReplicaVolume.open(dataDir, hello, undoConfig);
            volume = v;
        } else {
            v.checkSame(hello);
        }
        if (v.pausedReason() != null) {
            throw new RefusedException(v.pausedReason());
        }
        return v;
    }

    /** On the executor: the volume, opened from its files if no source opened it yet. */
    ReplicaVolume openExisting() throws IOException, RefusedException {
        ReplicaVolume v = volume;
        if (v == null) {
            v = ReplicaVolume.openExisting(dataDir, volumeId, undoConfig);
            volume = v;
        }
        return v;
    }

    /** Queues {@link #openExisting} (which finishes an interrupted rollback); failures are logged. */
    void openExistingInBackground() {
        executor.execute(() -> {
            try {
                openExisting();
            } catch (IOException | RefusedException | RuntimeException e) {
                log.error("volume={} cannot be opened to finish its rollback: {}", volumeId, e.toString());
            }
        });
    }

    /**
     * Starts an administrator's operation: no source may connect until {@link #endAdmin}, and a
     * live session is ended (the policy: a rollback pauses the volume first).
     *
     * @return false if another administrator's operation runs
     */
    boolean beginAdmin(String why) {
        if (!adminBusy.compareAndSet(false, true)) {
            return false;
        }
        ReplaySession s = session.getAndSet(null);
        if (s != null && s.isLive()) {
            s.endForAdmin("volume " + volumeId + " " + why);
        }
        return true;
    }

    void endAdmin() {
        adminBusy.set(false);
    }

    /** Whether an administrator's operation runs now (sources are refused meanwhile). */
    boolean adminBusy() {
        return adminBusy.get();
    }

    /** The volume's figures, or null if it was never opened in this run. */
    VolumeStatus status() {
        ReplicaVolume v = volume;
        ReplaySession s = session.get();
        return v == null ? null : v.status(s != null && s.isLive());
    }

    /** Stops the apply thread after the queued tasks, then closes the files. */
    void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                log.warn("volume={} apply thread did not stop within 30 s", volumeId);
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ReplicaVolume v = volume;
        if (v != null) {
            try {
                v.close();
            } catch (IOException e) {
                log.warn("volume={} closing files failed: {}", volumeId, e.toString());
            }
        }
    }
}
