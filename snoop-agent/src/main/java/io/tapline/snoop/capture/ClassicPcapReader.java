package io.tapline.snoop.capture;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The classic pcap format: a 24-byte file header (magic 0xA1B2C3D4 for microsecond or 0xA1B23C4D
 * for nanosecond timestamps, in the writer's byte order; snaplen; link type) and records of a
 * 16-byte header (seconds, sub-second, captured length, original length) followed by the frame.
 */
final class ClassicPcapReader extends CaptureFileReader {
    private static final int MAGIC_MICROS = 0xA1B2C3D4;
    private static final int MAGIC_NANOS = 0xA1B23C4D;

    private boolean swapped;
    private long nanosPerUnit;
    private LinkType linkType;
    private int maxFrame;

    ClassicPcapReader(FileWindow in, Path file) {
        super(in, file);
    }

    @Override
    protected void start() throws IOException {
        if (!in.ensure(24)) {
            throw new IOException("pcap: " + file + ": file too short for a pcap header (expected: a pcap or pcapng file)");
        }
        byte[] b = in.array();
        int at = in.position();
        int magic = PcapngReader.be32(b, at);
        if (magic == MAGIC_MICROS || magic == MAGIC_NANOS) {
            swapped = false;
        } else if (Integer.reverseBytes(magic) == MAGIC_MICROS || Integer.reverseBytes(magic) == MAGIC_NANOS) {
            swapped = true;
            magic = Integer.reverseBytes(magic);
        } else {
            throw new IOException("pcap: " + file + ": unknown magic 0x" + Integer.toHexString(magic)
                    + " (expected: a pcap or pcapng file)");
        }
        nanosPerUnit = magic == MAGIC_NANOS ? 1 : 1000;
        int snaplen = i32(b, at + 16);
        // The link type's upper 16 bits may carry FCS information (pcap format, LinkType field).
        linkType = LinkType.fromWireValue(i32(b, at + 20) & 0xFFFF);
        maxFrame = Math.max(MAX_FRAME_BYTES, snaplen);
        in.skip(24);
    }

    @Override
    public boolean next(FrameHandler handler) throws IOException {
        if (!in.ensure(16)) {
            if (in.available() == 0) {
                return false;
            }
            throw truncated("record header");
        }
        byte[] b = in.array();
        int at = in.position();
        long seconds = i32(b, at) & 0xFFFF_FFFFL;
        long fraction = i32(b, at + 4) & 0xFFFF_FFFFL;
        int captured = i32(b, at + 8);
        int original = i32(b, at + 12);
        if (captured < 0 || captured > maxFrame) {
            throw new DamagedCaptureException("damaged capture file: record at byte " + in.fileOffset()
                    + " claims " + (captured & 0xFFFF_FFFFL) + " captured bytes (expected: at most " + maxFrame + ")");
        }
        in.skip(16);
        if (!in.ensure(captured)) {
            throw truncated("record of " + captured + " bytes");
        }
        int frameAt = in.position();
        in.skip(captured);
        int wire = original < captured || original < 0 ? captured : original;
        handler.frame(linkType, in.array(), frameAt, captured, wire, seconds * 1_000_000_000L + fraction * nanosPerUnit);
        return true;
    }

    private int i32(byte[] b, int at) {
        int v = PcapngReader.be32(b, at);
        return swapped ? Integer.reverseBytes(v) : v;
    }
}
