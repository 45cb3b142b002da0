package io.tapline.tools;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;

/**
 * A wedge node's mark on its own volume's image: the extended attribute {@code user.tapline.node}
 * names the node's folder of that volume ({@code <buffer>/node/<volume>}). A plain wedge started
 * later on that image (with any {@code --buffer} and any {@code --export}) finds the node and the
 * volume's role there, and is refused when the node no longer owns the volume; without it, a plain
 * wedge with another buffer served a fenced secondary and the node's next start resynced those
 * acknowledged writes away (probe S S1). A copy of a marked image is not the node's: the mark
 * counts only while the node's {@code replica.img} is this very file.
 *
 * <p>Best effort: a file system without user extended attributes keeps no mark, and the buffer's
 * own check still applies. Stateless.
 */
final class NodeVolumeMark {
    static final String ATTRIBUTE = "tapline.node";

    private NodeVolumeMark() {
    }

    /**
     * Marks {@code image} as the volume of the node folder {@code nodeVolume}; nothing when it is
     * marked so already (each write moves the image's {@code ctime}, which the close-time stamp and
     * the primary's watch read as a change).
     */
    static void write(Path image, Path nodeVolume) {
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(image, UserDefinedFileAttributeView.class);
            String mark = nodeVolume.toAbsolutePath().toString();
            if (view != null && !mark.equals(readRaw(view))) {
                view.write(ATTRIBUTE, StandardCharsets.UTF_8.encode(mark));
            }
        } catch (IOException | UnsupportedOperationException e) {
            // no xattrs here: the buffer's own check is all there is
        }
    }

    /**
     * The node folder of the volume {@code image} is, or null: none marked, or the mark names a
     * node whose {@code replica.img} is another file (a copy of a marked image carries its mark).
     */
    static Path read(Path image) {
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(image, UserDefinedFileAttributeView.class);
            String mark = view == null ? null : readRaw(view);
            if (mark == null) {
                return null;
            }
            Path nodeVolume = Path.of(mark);
            Path served = io.tapline.replay.ReplayServer.replicaImage(nodeVolume);
            return Files.exists(served) && Files.isSameFile(served, image) ? nodeVolume : null;
        } catch (IOException | UnsupportedOperationException | java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    /** The mark's text, or null when there is none. */
    private static String readRaw(UserDefinedFileAttributeView view) throws IOException {
        if (!view.list().contains(ATTRIBUTE)) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(view.size(ATTRIBUTE));
        view.read(ATTRIBUTE, b);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }
}
