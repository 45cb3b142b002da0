package io.tapline.log.volume;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * For tests that change an image behind its owner's back: waits until the file system stamps a
 * change later than the image's own change time, so that the test's change is told apart from the
 * owner's last one. A kernel without fine-grained change times (before Linux 6.13's multigrain
 * timestamps) gives two changes within one clock tick the same {@code ctime}.
 */
public final class ChangeTimes {
    private ChangeTimes() {
    }

    /**
     * Polls, by writing a probe file beside {@code image} (deleted after), until the probe's change
     * time is after {@code image}'s; fails after 5 s.
     */
    public static void movedPast(Path image) throws IOException {
        long owners = ImageStamp.of(image).ctimeNanos();
        Path probe = image.resolveSibling(".change-time-probe");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        try {
            while (true) {
                Files.write(probe, new byte[] {1});
                if (ImageStamp.of(probe).ctimeNanos() > owners) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("change times stayed at or before " + owners + " ns for 5 s");
                }
                Thread.onSpinWait();
            }
        } finally {
            Files.deleteIfExists(probe);
        }
    }
}
