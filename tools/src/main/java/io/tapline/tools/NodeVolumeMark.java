package io.tapline.tools;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;

/**
 * A wedge node's mark on its own volume's image: the extended attribute {@code user.tapline.node}
 * names the node's data folder ({@code <buffer>/node}). A plain wedge started later on that image
 * (with any {@code --buffer}) finds the node and its role there, and is refused when the node no
 * longer owns the volume; without it, a plain wedge with another buffer served a fenced secondary
 * and the node's next start resynced those acknowledged writes away (probe S S1).
 *
 * <p>Best effort: a file system without user extended attributes keeps no mark, and the buffer's
 * own check still applies. Stateless.
 */
final class NodeVolumeMark {
    static final String ATTRIBUTE = "tapline.node";

    private NodeVolumeMark() {
    }

    /** Marks {@code image} as served by the node whose data folder is {@code nodeData}. */
    static void write(Path image, Path nodeData) {
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(image, UserDefinedFileAttributeView.class);
            if (view != null) {
                view.write(ATTRIBUTE, StandardCharsets.UTF_8.encode(nodeData.toAbsolutePath().toString()));
            }
        } catch (IOException | UnsupportedOperationException e) {
            // no xattrs here: the buffer's own check is all there is
        }
    }

    /** The node data folder {@code image} was marked with, or null. */
    static Path read(Path image) {
        try {
            UserDefinedFileAttributeView view = Files.getFileAttributeView(image, UserDefinedFileAttributeView.class);
            if (view == null || !view.list().contains(ATTRIBUTE)) {
                return null;
            }
            ByteBuffer b = ByteBuffer.allocate(view.size(ATTRIBUTE));
            view.read(ATTRIBUTE, b);
            return Path.of(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8));
        } catch (IOException | UnsupportedOperationException | java.nio.file.InvalidPathException e) {
            return null;
        }
    }
}
