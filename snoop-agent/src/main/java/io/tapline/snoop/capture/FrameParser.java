package io.tapline.snoop.capture;

import io.tapline.snoop.tcp.FlowKey;
import io.tapline.snoop.tcp.TcpSegment;

/**
 * Parses a raw captured frame down to its TCP segment: link header ({@link LinkType}), IPv4
 * (RFC 791, options skipped, fragments ignored), IPv6 (RFC 8200, hop-by-hop/routing/destination
 * extension headers skipped) and TCP (RFC 9293, options skipped). Works on the bytes the
 * capture hands over, without building packet objects.
 *
 * <p>Stateless and thread-safe.
 */
public final class FrameParser {
    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int ETHERTYPE_IPV6 = 0x86DD;
    private static final int ETHERTYPE_VLAN = 0x8100;
    private static final int ETHERTYPE_QINQ = 0x88A8;
    private static final int PROTO_TCP = 6;

    private final LinkType linkType;

    public FrameParser(LinkType linkType) {
        this.linkType = linkType;
    }

    /**
     * The TCP segment in {@code frame}, or {@code null} when it holds none (not IP, not TCP, a
     * fragment, or too short to hold the headers).
     *
     * @param originalLength the frame's length on the wire (more than {@code frame.length} when the snaplen cut it)
     */
    public TcpSegment parse(byte[] frame, int originalLength, long timeNanos) {
        return parse(frame, 0, frame.length, originalLength, timeNanos);
    }

    /**
     * The TCP segment in {@code buf[offset, offset+length)}, or {@code null}; the segment refers to
     * {@code buf} (no copy), so it is valid only as long as those bytes are.
     *
     * @param originalLength the frame's length on the wire (more than {@code length} when the snaplen cut it)
     */
    public TcpSegment parse(byte[] buf, int offset, int length, int originalLength, long timeNanos) {
        byte[] frame = buf;
        int o = offset;
        int n = offset + length;
        int ip;
        int etherType;
        switch (linkType) {
            case ETHERNET -> {
                if (n - o < 14) {
                    return null;
                }
                ip = o + 14;
                etherType = u16(frame, o + 12);
                while ((etherType == ETHERTYPE_VLAN || etherType == ETHERTYPE_QINQ) && ip + 4 <= n) {
                    etherType = u16(frame, ip + 2);
                    ip += 4;
                }
            }
            case LINUX_SLL -> {
                if (n - o < 16) {
                    return null;
                }
                ip = o + 16;
                etherType = u16(frame, o + 14);
            }
            case LINUX_SLL2 -> {
                if (n - o < 20) {
                    return null;
                }
                ip = o + 20;
                etherType = u16(frame, o);
            }
            case NULL, LOOP -> {
                if (n - o < 4) {
                    return null;
                }
                ip = o + 4;
                etherType = ipVersion(frame, ip, n);
            }
            case RAW -> {
                ip = o;
                etherType = ipVersion(frame, ip, n);
            }
            default -> throw new IllegalStateException("linkType: " + linkType);
        }
        int lost = originalLength - length;
        if (etherType == ETHERTYPE_IPV4) {
            return ipv4(frame, ip, n, lost, timeNanos);
        }
        if (etherType == ETHERTYPE_IPV6) {
            return ipv6(frame, ip, n, lost, timeNanos);
        }
        return null;
    }

    private static int ipVersion(byte[] f, int at, int end) {
        if (at >= end) {
            return -1;
        }
        int v = (f[at] & 0xF0) >>> 4;
        return v == 4 ? ETHERTYPE_IPV4 : v == 6 ? ETHERTYPE_IPV6 : -1;
    }

    private static TcpSegment ipv4(byte[] f, int ip, int end, int lost, long timeNanos) {
        if (ip + 20 > end || (f[ip] & 0xF0) != 0x40) {
            return null;
        }
        int ihl = (f[ip] & 0x0F) * 4;
        int total = u16(f, ip + 2);
        int fragment = u16(f, ip + 6);
        if (ihl < 20 || (fragment & 0x3FFF) != 0 || (f[ip + 9] & 0xFF) != PROTO_TCP) {
            return null;
        }
        long src = u32(f, ip + 12);
        long dst = u32(f, ip + 16);
        // TSO captures on the sending host may carry total length 0: then the frame decides.
        int ipEnd = total == 0 ? end + lost : ip + total;
        return tcp(f, end, ip + ihl, ipEnd, FlowKey.IPV4_MARK, src, FlowKey.IPV4_MARK, dst, timeNanos);
    }

    private static TcpSegment ipv6(byte[] f, int ip, int end, int lost, long timeNanos) {
        if (ip + 40 > end || (f[ip] & 0xF0) != 0x60) {
            return null;
        }
        int payload = u16(f, ip + 4);
        int next = f[ip + 6] & 0xFF;
        long srcHi = u64(f, ip + 8);
        long srcLo = u64(f, ip + 16);
        long dstHi = u64(f, ip + 24);
        long dstLo = u64(f, ip + 32);
        int at = ip + 40;
        while (next == 0 || next == 43 || next == 60) {
            if (at + 8 > end) {
                return null;
            }
            next = f[at] & 0xFF;
            at += (f[at + 1] & 0xFF) * 8 + 8;
        }
        if (next != PROTO_TCP) {
            return null;
        }
        return tcp(f, end, at, ip + 40 + payload, srcHi, srcLo, dstHi, dstLo, timeNanos);
    }

    private static TcpSegment tcp(byte[] f, int end, int at, int ipEnd, long srcHi, long srcLo, long dstHi,
            long dstLo, long timeNanos) {
        if (at + 20 > end) {
            return null;
        }
        int dataOffset = ((f[at + 12] & 0xF0) >>> 4) * 4;
        if (dataOffset < 20 || at + dataOffset > end) {
            return null;
        }
        int payloadStart = at + dataOffset;
        int wirePayload = Math.max(0, ipEnd - payloadStart);
        int captured = Math.max(0, Math.min(wirePayload, end - payloadStart));
        FlowKey flow = new FlowKey(srcHi, srcLo, u16(f, at), dstHi, dstLo, u16(f, at + 2));
        return new TcpSegment(flow, u32(f, at + 4), f[at + 13] & 0xFF, f, payloadStart, captured, wirePayload,
                timeNanos);
    }

    static int u16(byte[] f, int at) {
        return ((f[at] & 0xFF) << 8) | (f[at + 1] & 0xFF);
    }

    static long u32(byte[] f, int at) {
        return ((long) u16(f, at) << 16) | u16(f, at + 2);
    }

    static long u64(byte[] f, int at) {
        return (u32(f, at) << 32) | u32(f, at + 4);
    }
}
