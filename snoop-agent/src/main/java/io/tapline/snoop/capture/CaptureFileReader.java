package io.tapline.snoop.capture;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads the frames of a capture file without libpcap: the classic pcap format (microsecond and
 * nanosecond magic, either byte order) and pcapng (section header, interface description,
 * enhanced, simple and obsolete packet blocks; other blocks skipped), both as documented in
 * draft-ietf-opsawg-pcap / draft-ietf-opsawg-pcapng. Frames are handed over in place from one
 * reused buffer ({@link FileWindow}), with no per-frame object or copy.
 *
 * <p>Damage: a record or block header that cannot be right (a length beyond
 * {@link #MAX_FRAME_BYTES}, a pcapng block length that is not a multiple of 4) and a file that
 * ends inside a record throw {@link DamagedCaptureException}; the frames before it were delivered.
 * Every record consumes at least its header, so no input makes the reader loop.
 *
 * <p>Not thread-safe.
 */
public abstract class CaptureFileReader implements Closeable {
    /** Largest frame accepted (libpcap's largest snaplen, 262144, with room to spare). */
    static final int MAX_FRAME_BYTES = 1 << 20;

    /** Receives each frame; {@code buf} is only valid during the call. */
    public interface FrameHandler {
        /**
         * @param linkType       the frame's link type, or {@code null} when the file's interface has one
         *                       the snoop-agent does not parse
         * @param originalLength the frame's length on the wire (at least {@code length})
         */
        void frame(LinkType linkType, byte[] buf, int offset, int length, int originalLength, long timeNanos);
    }

    /** The file ends or breaks inside a record: the frames before it stand. */
    public static final class DamagedCaptureException extends IOException {
        private static final long serialVersionUID = 1L;

        DamagedCaptureException(String message) {
            super(message);
        }
    }

    protected final FileWindow in;
    protected final Path file;

    protected CaptureFileReader(FileWindow in, Path file) {
        this.in = in;
        this.file = file;
    }

    /**
     * Opens {@code file}, telling the format from its magic number.
     *
     * @throws IOException naming the file when it is neither a pcap nor a pcapng file, or its link type is not parsed
     */
    public static CaptureFileReader open(Path file) throws IOException {
        FileWindow in = new FileWindow(file);
        try {
            if (!in.ensure(4)) {
                throw new IOException("pcap: " + file + ": file too short (expected: a pcap or pcapng file)");
            }
            int magic = PcapngReader.be32(in.array(), in.position());
            CaptureFileReader r = magic == PcapngReader.SECTION_HEADER ? new PcapngReader(in, file)
                    : new ClassicPcapReader(in, file);
            r.start();
            return r;
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** Reads the file header (classic) or first section header (pcapng). */
    protected abstract void start() throws IOException;

    /**
     * Reads the next frame (or skips a block without one) and hands it to {@code handler}.
     *
     * @return false at the clean end of the file
     */
    public abstract boolean next(FrameHandler handler) throws IOException;

    /** Bytes of the file consumed so far. */
    public long bytesRead() {
        return in.fileOffset();
    }

    protected DamagedCaptureException truncated(String what) {
        return new DamagedCaptureException("truncated capture file: " + what + " at byte " + in.fileOffset()
                + " (only " + in.available() + " bytes left)");
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
