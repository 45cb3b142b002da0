package io.tapline.log.buffer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A buffer file was written in a format version this code does not know (typically by a newer
 * Tapline). Nothing was changed; run the version that wrote it, or a newer one.
 */
public final class UnsupportedFormatVersionException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Path file;

    public UnsupportedFormatVersionException(Path file, int version, int minSupported, int maxSupported) {
        super("formatVersion: " + version + " (expected: " + minSupported + ".." + maxSupported + ") file=" + file
                + "; it was written by another Tapline version, use that one or a newer one");
        this.file = file;
    }

    /** The file with the unknown version. */
    public Path file() {
        return file;
    }
}
