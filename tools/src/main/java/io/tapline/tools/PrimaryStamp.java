package io.tapline.tools;

import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks.WholeVolumeCause;
import io.tapline.log.volume.ImageStamp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wedge primary's close-time stamp, {@code <buffer>/<volume>/primary.stamp} ({@link ImageStamp}):
 * written when the wedge stops cleanly, checked when it starts. A primary that another program
 * wrote, resized, replaced or touched meanwhile (an fsck run on the image, a restore from a
 * backup, {@code qemu-img resize}) may no longer match the replicas, and the buffer never saw
 * those writes: every chunk is tracked, so the volume is "not synced" until a resync has compared
 * all of it with each replica. Reads do not count. Journal mode only: cycle mode's layers and a
 * forwarding node's replica are not stamped.
 */
final class PrimaryStamp {
    private static final Logger LOG = LoggerFactory.getLogger(PrimaryStamp.class);

    /** The stamp's file name in a buffer's volume folder. */
    static final String FILE = "primary.stamp";

    private PrimaryStamp() {
    }

    /**
     * Before the wedge serves the primary: compares it with the stamp and, when it differs, tracks
     * every chunk (durably). Opening the primary does not change it; {@link #remove} once it is
     * served. A start that fails leaves the stamp, still true.
     */
    static void check(Path volumeDir, Path primary, CaptureBuffer buffer) throws IOException {
        check(volumeDir, primary, buffer, false);
    }

    /**
     * {@link #check(Path, Path, CaptureBuffer)}, and for a {@code newBuffer} (this start made it:
     * nothing was ever captured or shipped for the volume) in front of a primary that already holds
     * data, every chunk is tracked too: a replica starts empty, and only a resync seeds it with what
     * the host wrote before the wedge (the comparison sends only the chunks that differ, so a replica
     * seeded by hand costs its reads, not the line). A primary that is all holes (new, or made by
     * {@code truncate}) needs nothing.
     */
    static void check(Path volumeDir, Path primary, CaptureBuffer buffer, boolean newBuffer) throws IOException {
        if (newBuffer && holdsData(primary)) {
            buffer.changedChunks().markAll(WholeVolumeCause.PRIMARY_HELD_DATA);
            LOG.warn("volume={} primary {} already holds data and the buffer is new: every chunk is tracked and a"
                    + " resync seeds each replica (only chunks that differ cross the link)", buffer.volumeId(), primary);
            return;
        }
        String changed = ImageStamp.changedSince(volumeDir.resolve(FILE), primary);
        if (changed != null) {
            buffer.changedChunks().markAll(WholeVolumeCause.PRIMARY_CHANGED);
            LOG.warn("volume={} primary {} was changed while the wedge did not hold it ({}): its replicas may differ"
                    + " and the buffer never saw those writes; every chunk is tracked and a resync compares the"
                    + " whole volume with each replica", buffer.volumeId(), primary, changed);
        }
    }

    /** Whether the image exists and may hold data (any byte not in a hole; true where holes are not believed). */
    private static boolean holdsData(Path primary) throws IOException {
        if (!Files.exists(primary) || Files.size(primary) == 0) {
            return false;
        }
        try (io.tapline.log.volume.VolumeFile f = io.tapline.log.volume.VolumeFile.openForReading(primary)) {
            return f.nextDataOffset(0) < f.sizeBytes();
        }
    }

    /**
     * Once the wedge serves the primary: removes the stamp (durably), since the host's writes move
     * it on. A crash before this leaves a stamp the next start finds changed: a whole-volume
     * comparison, never a missed change.
     */
    static void remove(Path volumeDir) throws IOException {
        ImageStamp.remove(volumeDir.resolve(FILE));
    }

    /**
     * After the wedge closed the primary (every write of its own done): stamps it as it is now. A
     * failure only costs the next start's check (logged).
     */
    static void atClose(Path volumeDir, Path primary) {
        try {
            if (Files.exists(primary)) {
                ImageStamp.write(volumeDir.resolve(FILE), primary);
            }
        } catch (IOException e) {
            LOG.warn("primary {} stamp not written ({}): the next start cannot tell whether another program wrote"
                    + " it meanwhile", primary, e.toString());
        }
    }
}
