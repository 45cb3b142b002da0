package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replayer reuses a spare undo segment only when no point-in-time image is being made
 * ({@link RollbackLock#noImageBeingMade}), and an image that meets the replayer's momentary probe
 * waits for it instead of refusing.
 */
class RollbackLockTest {
    @TempDir
    Path volumeDir;

    @Test
    void anImageBeingMadeForbidsReuseUntilItEnds() throws Exception {
        RollbackLock.createFile(volumeDir);
        assertTrue(RollbackLock.noImageBeingMade(volumeDir));
        try (RollbackLock image = RollbackLock.forImage(volumeDir, "vol1")) {
            assertFalse(RollbackLock.noImageBeingMade(volumeDir), "reuse allowed while an image holds the lock");
        }
        assertTrue(RollbackLock.noImageBeingMade(volumeDir));
    }

    @Test
    void anImageWaitsThroughAMomentaryProbeButNotThroughARollback() throws Exception {
        RollbackLock.createFile(volumeDir);
        try (FileChannel ch = FileChannel.open(volumeDir.resolve(RollbackLock.FILE), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock probe = ch.lock(0, Long.MAX_VALUE, false);
            CompletableFuture<RollbackLock> image = new CompletableFuture<>();
            Thread imageThread = new Thread(() -> {
                try {
                    image.complete(RollbackLock.forImage(volumeDir, "vol1"));
                } catch (Exception e) {
                    image.completeExceptionally(e);
                }
            }, "image");
            imageThread.start();
            // The image met the lock taken and waits between its tries (or it refused already).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (imageThread.getState() != Thread.State.TIMED_WAITING && !image.isDone()
                    && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(100_000); // the image sleeps 5 ms between tries
            }
            probe.release();
            image.get(10, TimeUnit.SECONDS).close();
        }
        try (RollbackLock rollback = RollbackLock.forRollback(volumeDir, "vol1")) {
            long t0 = System.nanoTime();
            RefusedException e = org.junit.jupiter.api.Assertions.assertThrows(RefusedException.class,
                    () -> RollbackLock.forImage(volumeDir, "vol1"));
            assertTrue(e.getMessage().contains("being rolled back"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "an image waited on a rollback");
        }
    }
}
