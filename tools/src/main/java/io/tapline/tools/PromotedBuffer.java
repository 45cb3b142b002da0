package io.tapline.tools;

import io.tapline.log.DurableFiles;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The capture buffer of a volume promoted on this node, {@code <volume>/primary/}. It belongs to
 * one generation, written in its {@code generation} file when the promotion creates it: a node
 * that restarts while promoted reuses it (it holds that generation's unshipped records), while a
 * buffer another generation left behind (a demotion cut short by a crash, or by the race fixed in
 * {@link ReplicaExports#scan}) is never reused. Reusing one numbered the new primary's records
 * from the old promotion, below what the replicas had applied, and stranded them for good
 * ("replica at seq N but the capture buffer ends at seq M"). Such a buffer is moved aside as
 * {@code <volume>/ended-primary-<generation>-<millis>/}, kept for the operator, never deleted.
 */
final class PromotedBuffer {
    /** Under the buffer directory: the generation whose records it holds (decimal). */
    static final String GENERATION_FILE = "generation";

    private PromotedBuffer() {
    }

    /**
     * Makes {@code <volumeDir>/primary/} the buffer of {@code generation}, whose records are
     * numbered from {@code promotedAtSequence + 1}.
     *
     * @return one line naming the buffer of an ended generation that was set aside, or null
     */
    static String prepare(Path volumeDir, String volumeId, long generation, long promotedAtSequence)
            throws IOException {
        Path root = volumeDir.resolve(ReplicaExports.PRIMARY_BUFFER);
        long marked = Files.isDirectory(root) ? readGeneration(root) : generation; // nothing there: a new one
        // Without a generation file (written before there was one) the numbering tells: this
        // generation's buffer starts after its promotion's sequence and only trims forward.
        long oldest = marked < 0 ? CaptureBuffer.oldestSegmentBase(root.resolve(volumeId)) : -1;
        boolean current = marked == generation || marked < 0 && (oldest < 0 || oldest > promotedAtSequence);
        String setAside = null;
        if (!current) {
            Path aside = volumeDir.resolve("ended-primary-" + (marked < 0 ? "unknown" : Long.toString(marked))
                    + "-" + System.currentTimeMillis());
            Files.move(root, aside, StandardCopyOption.ATOMIC_MOVE);
            DurableFiles.syncDirectory(volumeDir);
            setAside = "volume " + volumeId + ": a primary buffer of " + (marked < 0 ? "an older generation"
                    : "generation " + marked) + " was left here; generation " + generation + " does not reuse it"
                    + " (its records would be numbered below the replicas'): set aside as " + aside;
        }
        Files.createDirectories(root);
        if (!Files.exists(root.resolve(GENERATION_FILE)) || marked != generation) {
            DurableFiles.replace(root.resolve(GENERATION_FILE),
                    (generation + "\n").getBytes(StandardCharsets.US_ASCII));
            DurableFiles.syncDirectory(root);
        }
        CaptureBuffer.startAt(root.resolve(volumeId), volumeId, promotedAtSequence + 1);
        return setAside;
    }

    /** The generation written in {@code root}, or -1 when there is none (or it is unreadable). */
    static long readGeneration(Path root) throws IOException {
        Path file = root.resolve(GENERATION_FILE);
        if (!Files.exists(file)) {
            return -1;
        }
        try {
            return Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).trim());
        } catch (NumberFormatException torn) {
            return -1; // a torn write of a new promotion: the numbering decides, as without one
        }
    }
}
