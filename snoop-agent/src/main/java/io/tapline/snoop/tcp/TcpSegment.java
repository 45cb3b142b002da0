package io.tapline.snoop.tcp;

/**
 * A TCP segment as parsed from one captured frame.
 *
 * @param flow            the direction it travels
 * @param sequence        TCP sequence number (unsigned 32 bits in a long)
 * @param flags           TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10)
 * @param data            the frame's bytes; the payload is {@code data[payloadOffset, +capturedPayloadBytes)}
 * @param payloadOffset   where the TCP payload starts in {@code data}
 * @param capturedPayloadBytes payload bytes present in the capture
 * @param payloadBytes    payload bytes on the wire (more than captured when the snaplen cut the frame)
 * @param timeNanos       capture time, UTC nanoseconds
 */
public record TcpSegment(FlowKey flow, long sequence, int flags, byte[] data, int payloadOffset,
        int capturedPayloadBytes, int payloadBytes, long timeNanos) {
    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int ACK = 0x10;

    public boolean syn() {
        return (flags & SYN) != 0;
    }

    public boolean fin() {
        return (flags & FIN) != 0;
    }

    public boolean rst() {
        return (flags & RST) != 0;
    }
}
