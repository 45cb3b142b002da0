package io.tapline.snoop.tcp;

/**
 * One direction of a TCP connection: source and destination address and port. IPv4 addresses
 * sit in the low 32 bits of {@code srcLo}/{@code dstLo} with the high word 0 and a marker bit
 * pattern in {@code srcHi}/{@code dstHi}; IPv6 addresses use both longs.
 *
 * <p>Immutable value; cheap to build per packet.
 */
public record FlowKey(long srcHi, long srcLo, int srcPort, long dstHi, long dstLo, int dstPort) {
    /** {@code srcHi}/{@code dstHi} value that marks an IPv4 address. */
    public static final long IPV4_MARK = 0xFFFF_FFFF_0000_0000L;

    /** The opposite direction of the same connection. */
    public FlowKey reversed() {
        return new FlowKey(dstHi, dstLo, dstPort, srcHi, srcLo, srcPort);
    }

    /** The same key for both directions: the lexicographically smaller endpoint first. */
    public FlowKey canonical() {
        int c = Long.compare(srcHi, dstHi);
        if (c == 0) {
            c = Long.compare(srcLo, dstLo);
        }
        if (c == 0) {
            c = Integer.compare(srcPort, dstPort);
        }
        return c <= 0 ? this : reversed();
    }

    /** {@code host:port} of the source. */
    public String source() {
        return text(srcHi, srcLo, srcPort);
    }

    /** {@code host:port} of the destination. */
    public String destination() {
        return text(dstHi, dstLo, dstPort);
    }

    private static String text(long hi, long lo, int port) {
        if (hi == IPV4_MARK) {
            return ((lo >>> 24) & 0xFF) + "." + ((lo >>> 16) & 0xFF) + "." + ((lo >>> 8) & 0xFF) + "." + (lo & 0xFF)
                    + ":" + port;
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < 8; i++) {
            long word = i < 4 ? (hi >>> (48 - 16 * i)) : (lo >>> (48 - 16 * (i - 4)));
            sb.append(Long.toHexString(word & 0xFFFF));
            if (i < 7) {
                sb.append(':');
            }
        }
        return sb.append("]:").append(port).toString();
    }

    @Override
    public String toString() {
        return source() + "->" + destination();
    }
}
