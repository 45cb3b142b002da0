package io.tapline.log.volume;

import java.io.IOException;
import java.nio.file.Path;

/** An existing volume image has another size than the one configured; nothing was changed. */
public final class VolumeSizeMismatchException extends IOException {
    private static final long serialVersionUID = 1L;

    public VolumeSizeMismatchException(Path path, long actualBytes, long expectedBytes) {
        super("volume size: " + actualBytes + " bytes (expected: " + expectedBytes + " as configured) file=" + path
                + "; use the existing size or another file");
    }
}
