package io.tapline.snoop.capture;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A sliding window over a file, read with one {@link FileChannel} into one reused heap array:
 * callers ask for the next {@code n} bytes with {@link #ensure} and read them in place from
 * {@link #array()} at {@link #position()}, so every byte of the file is copied once into the
 * JVM heap and never again by the reader.
 *
 * <p>Not thread-safe.
 */
final class FileWindow implements Closeable {
    private static final int CHUNK_BYTES = 4 << 20;

    private final FileChannel channel;
    private byte[] buf = new byte[CHUNK_BYTES];
    private ByteBuffer view = ByteBuffer.wrap(buf);
    private int pos;
    private int limit;
    private long consumedBefore;
    private boolean eof;

    FileWindow(Path file) throws IOException {
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
    }

    /**
     * Makes the next {@code n} bytes available from {@link #position()}; false when the file
     * ends first (what remains is still available, see {@link #available()}).
     */
    boolean ensure(int n) throws IOException {
        if (limit - pos >= n) {
            return true;
        }
        if (n > buf.length - pos) {
            compact(n);
        }
        while (limit - pos < n && !eof) {
            view.limit(buf.length).position(limit);
            int read = channel.read(view);
            if (read < 0) {
                eof = true;
            } else {
                limit += read;
            }
        }
        return limit - pos >= n;
    }

    private void compact(int n) {
        int kept = limit - pos;
        byte[] target = n > buf.length ? new byte[Math.max(n, buf.length * 2)] : buf;
        System.arraycopy(buf, pos, target, 0, kept);
        if (target != buf) {
            buf = target;
            view = ByteBuffer.wrap(buf);
        }
        consumedBefore += pos;
        pos = 0;
        limit = kept;
    }

    /** The array holding the window; valid until the next {@link #ensure}. */
    byte[] array() {
        return buf;
    }

    /** Where the next unread byte sits in {@link #array()}. */
    int position() {
        return pos;
    }

    /** Bytes available from {@link #position()} without reading the file. */
    int available() {
        return limit - pos;
    }

    /** Consumes {@code n} available bytes. */
    void skip(int n) {
        pos += n;
    }

    /** File offset of the next unread byte. */
    long fileOffset() {
        return consumedBefore + pos;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
