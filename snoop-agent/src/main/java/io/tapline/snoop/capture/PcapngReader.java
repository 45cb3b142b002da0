package io.tapline.snoop.capture;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pcapng format: blocks of {@code type, total length, body, total length}, in the byte order
 * the Section Header Block's byte-order magic gives. Interface Description Blocks give each
 * interface's link type, snaplen and timestamp resolution ({@code if_tsresol}); Enhanced (6),
 * Simple (3) and obsolete Packet (2) Blocks carry frames; every other block is skipped.
 *
 * <p>A frame on an interface whose link type the snoop-agent does not parse is handed over with
 * a {@code null} link type.
 */
final class PcapngReader extends CaptureFileReader {
    static final int SECTION_HEADER = 0x0A0D0D0A;
    private static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;
    private static final int INTERFACE_DESCRIPTION = 1;
    private static final int OBSOLETE_PACKET = 2;
    private static final int SIMPLE_PACKET = 3;
    private static final int ENHANCED_PACKET = 6;
    private static final int OPTION_TSRESOL = 9;
    private static final int MAX_BLOCK_BYTES = MAX_FRAME_BYTES + (1 << 16);

    /** One Interface Description Block. */
    private record Interface(LinkType linkType, int snaplen, long unitsPerSecond) {
    }

    private final List<Interface> interfaces = new ArrayList<>();
    private boolean swapped;

    PcapngReader(FileWindow in, Path file) {
        super(in, file);
    }

    @Override
    protected void start() throws IOException {
        if (!in.ensure(12)) {
            throw new IOException("pcap: " + file + ": file too short for a pcapng section header");
        }
    }

    @Override
    public boolean next(FrameHandler handler) throws IOException {
        if (!in.ensure(12)) {
            if (in.available() == 0) {
                return false;
            }
            throw truncated("block header");
        }
        byte[] b = in.array();
        int at = in.position();
        int type = be32(b, at);
        if (type == SECTION_HEADER) {
            int order = be32(b, at + 8);
            if (order != BYTE_ORDER_MAGIC && Integer.reverseBytes(order) != BYTE_ORDER_MAGIC) {
                throw new DamagedCaptureException("damaged capture file: section header at byte " + in.fileOffset()
                        + " has byte-order magic 0x" + Integer.toHexString(order) + " (expected: 0x1a2b3c4d)");
            }
            swapped = order != BYTE_ORDER_MAGIC;
            interfaces.clear();
        } else if (swapped) {
            type = Integer.reverseBytes(type);
        }
        int length = i32(b, at + 4);
        if (length < 12 || (length & 3) != 0 || length > MAX_BLOCK_BYTES) {
            throw new DamagedCaptureException("damaged capture file: block at byte " + in.fileOffset() + " has length "
                    + (length & 0xFFFF_FFFFL) + " (expected: a multiple of 4 from 12 to " + MAX_BLOCK_BYTES + ")");
        }
        if (!in.ensure(length)) {
            throw truncated("block of " + length + " bytes");
        }
        b = in.array();
        at = in.position();
        in.skip(length);
        switch (type) {
            case INTERFACE_DESCRIPTION -> interfaceBlock(b, at, length);
            case ENHANCED_PACKET -> packet(handler, b, at, length, i32(b, at + 8), at + 12, 28);
            case OBSOLETE_PACKET -> packet(handler, b, at, length, i32(b, at + 8) >>> (swapped ? 0 : 16) & 0xFFFF,
                    at + 12, 28);
            case SIMPLE_PACKET -> simplePacket(handler, b, at, length);
            default -> {
                // section headers, name resolution, statistics, custom blocks: nothing to decode
            }
        }
        return true;
    }

    private void interfaceBlock(byte[] b, int at, int length) throws DamagedCaptureException {
        if (length < 20) {
            throw damagedBlock("interface description", length);
        }
        int raw = u16(b, at + 8);
        LinkType linkType;
        try {
            linkType = LinkType.fromWireValue(raw);
        } catch (IllegalArgumentException e) {
            linkType = null;
        }
        long unitsPerSecond = 1_000_000;
        int end = at + length - 4;
        for (int o = at + 16; o + 4 <= end; ) {
            int code = u16(b, o);
            int optionLength = u16(b, o + 2);
            if (code == 0 || o + 4 + optionLength > end) {
                break;
            }
            if (code == OPTION_TSRESOL && optionLength >= 1) {
                int v = b[o + 4] & 0xFF;
                int exponent = v & 0x7F;
                unitsPerSecond = (v & 0x80) == 0 ? (exponent <= 18 ? pow10(exponent) : 0) : exponent <= 62 ? 1L << exponent : 0;
            }
            o += 4 + ((optionLength + 3) & ~3);
        }
        interfaces.add(new Interface(linkType, i32(b, at + 12), unitsPerSecond));
    }

    private void packet(FrameHandler handler, byte[] b, int at, int length, int interfaceId, int tsAt, int fixed)
            throws DamagedCaptureException {
        if (length < fixed + 4 || interfaceId < 0 || interfaceId >= interfaces.size()) {
            throw new DamagedCaptureException("damaged capture file: packet block at byte " + (in.fileOffset() - length)
                    + " (length " + length + ", interface " + interfaceId + " of " + interfaces.size() + ")");
        }
        int captured = i32(b, at + 20);
        int original = i32(b, at + 24);
        if (captured < 0 || captured > length - fixed - 4) {
            throw damagedBlock("packet", length);
        }
        Interface itf = interfaces.get(interfaceId);
        long units = ((i32(b, tsAt) & 0xFFFF_FFFFL) << 32) | (i32(b, tsAt + 4) & 0xFFFF_FFFFL);
        handler.frame(itf.linkType, b, at + fixed, captured, original < captured ? captured : original,
                nanos(units, itf.unitsPerSecond));
    }

    private void simplePacket(FrameHandler handler, byte[] b, int at, int length) throws DamagedCaptureException {
        if (length < 16 || interfaces.isEmpty()) {
            throw damagedBlock("simple packet", length);
        }
        Interface itf = interfaces.get(0);
        int original = i32(b, at + 8);
        int room = length - 16;
        int captured = original < 0 ? room : Math.min(room, original);
        if (itf.snaplen > 0) {
            captured = Math.min(captured, itf.snaplen);
        }
        handler.frame(itf.linkType, b, at + 12, captured, Math.max(original, captured), 0);
    }

    private DamagedCaptureException damagedBlock(String what, int length) {
        return new DamagedCaptureException("damaged capture file: " + what + " block ending at byte "
                + in.fileOffset() + " (length " + length + ")");
    }

    private static long nanos(long units, long unitsPerSecond) {
        if (unitsPerSecond <= 0) {
            return 0;
        }
        long seconds = units / unitsPerSecond;
        long rest = units % unitsPerSecond;
        return seconds * 1_000_000_000L + (unitsPerSecond >= 1_000_000_000L ? rest / (unitsPerSecond / 1_000_000_000L)
                : rest * (1_000_000_000L / unitsPerSecond));
    }

    private static long pow10(int exponent) {
        long v = 1;
        for (int i = 0; i < exponent; i++) {
            v *= 10;
        }
        return v;
    }

    private int i32(byte[] b, int at) {
        int v = be32(b, at);
        return swapped ? Integer.reverseBytes(v) : v;
    }

    private int u16(byte[] b, int at) {
        int v = ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
        return swapped ? Short.toUnsignedInt(Short.reverseBytes((short) v)) : v;
    }

    static int be32(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }
}
