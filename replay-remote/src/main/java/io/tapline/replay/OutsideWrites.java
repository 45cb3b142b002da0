package io.tapline.replay;

import io.tapline.log.volume.ImageStamp;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Notices, while a replica is open, that a program other than its replayer changed the image: the
 * image's {@link ImageStamp} (device, inode, size, change time) is taken after the replayer's own
 * writes and compared before its next ones and once a second while it is idle. A file system
 * mounted from the live replica (its journal replayed), a file copied over it or a {@code chmod}
 * all move it; reads do not. Writes made by someone else while the replayer itself writes (inside
 * one group) are not told apart from its own: the next group, or the next idle check, sees any
 * that come after.
 *
 * <p>Not thread-safe: used on the volume's apply thread.
 */
final class OutsideWrites {
    private final Path image;
    private ImageStamp own;

    OutsideWrites(Path image) {
        this.image = image;
    }

    /** After the replayer's own writes (or at open): the image as it is now is its own. */
    void ownWritesDone() throws IOException {
        own = ImageStamp.of(image);
    }

    /**
     * What changed since {@link #ownWritesDone} (or since the last change this reported: each is
     * reported once), or null when nothing did or there is no baseline yet.
     */
    String sinceOwnWrites() throws IOException {
        String changed = own == null ? null : own.changedSince(image);
        if (changed != null) {
            try {
                ownWritesDone();
            } catch (java.nio.file.NoSuchFileException e) {
                own = null; // gone: reported once; the volume is reopened from its files (ReplicaVolume)
            }
        }
        return changed;
    }

    /**
     * Whether {@code what} ({@link #sinceOwnWrites}) says the path no longer names the file the
     * replayer holds open at the volume's size: deleted, replaced by another file, or resized.
     * Writes through the open file would then never reach the image at the path.
     */
    static boolean detached(String what) {
        return what.contains("it is gone") || what.contains("replaced by another file") || what.contains("bytes then");
    }
}
