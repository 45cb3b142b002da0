package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.volume.ImageStamp;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Image stamps ({@code primary.stamp}, {@code replica.stamp}): an owner's sessions, each
 * stamping the image at its close, checking and removing the stamp at its next open, then
 * writing the image. Oracle: a stamp whose write returned before the cut is there; one whose
 * removal returned is gone; one that is there always parses (a cut never leaves a torn stamp
 * that reads as anything but a whole one: the copy's image is another inode, so it must report
 * "replaced", never "damaged").
 */
final class ImageStampWorkload implements CrashWorkload {
    private static final int EITHER = 0;
    private static final int PRESENT = 1;
    private static final int ABSENT = 2;

    private final int sessions;
    private final Ledger<Integer> stamp = new Ledger<>(EITHER);

    ImageStampWorkload(int sessions) {
        this.sessions = sessions;
    }

    @Override
    public String kind() {
        return "image stamps";
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path image = root.resolve("primary.img");
        Path file = root.resolve("primary.stamp");
        for (int s = 0; s < sessions; s++) {
            ImageStamp.changedSince(file, image);
            stamp.note(trace.size(), EITHER); // from the removal's first operation until it returns
            ImageStamp.remove(file);
            stamp.note(trace.size(), ABSENT);
            try (FileChannel ch = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(Payloads.of(s, 4096)), (long) (s % 7) * 4096);
                ch.force(true);
            }
            stamp.note(trace.size(), EITHER);
            ImageStamp.write(file, image);
            stamp.note(trace.size(), PRESENT);
        }
    }

    @Override
    public String expectationAt(int opsDone) {
        return Integer.toString(stamp.at(opsDone));
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        Path file = dir.resolve("primary.stamp");
        int expected = stamp.at(opsDone);
        if (expected == PRESENT) {
            assertTrue(Files.exists(file), "a stamp whose write returned is gone");
        } else if (expected == ABSENT) {
            assertFalse(Files.exists(file), "a stamp whose removal returned is back");
        }
        if (Files.exists(file) && Files.exists(dir.resolve("primary.img"))) {
            String why = ImageStamp.changedSince(file, dir.resolve("primary.img"));
            assertTrue(why != null && why.startsWith("replaced by another file"), "a cut left a stamp that reads: " + why);
        }
    }
}
