package io.tapline.log.buffer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A capture buffer segment is damaged before its tail, where a crash cannot have torn it.
 * Startup stops; the message names the file, the offset and the repair command.
 */
public final class BufferCorruptException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Path file;
    private final long offsetBytes;

    public BufferCorruptException(Path file, long offsetBytes, String detail) {
        super("corrupt capture buffer segment " + file + " at offset " + offsetBytes + ": " + detail
                + "; to keep the records before it and drop the rest run: tapline buffer repair --segment " + file
                + " --truncate-at " + offsetBytes);
        this.file = file;
        this.offsetBytes = offsetBytes;
    }

    /**
     * For damaged files other than segments (cursor, state): {@code repair} says what to do
     * instead of the segment repair command.
     */
    public BufferCorruptException(Path file, long offsetBytes, String detail, String repair) {
        super("corrupt capture buffer file " + file + " at offset " + offsetBytes + ": " + detail + "; " + repair);
        this.file = file;
        this.offsetBytes = offsetBytes;
    }

    public Path file() {
        return file;
    }

    public long offsetBytes() {
        return offsetBytes;
    }
}
