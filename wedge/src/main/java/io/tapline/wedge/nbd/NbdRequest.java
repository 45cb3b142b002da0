package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import java.util.Objects;

/**
 * A valid transmission request (proto.md "Request message"). Its range lies inside the export
 * and its flags are allowed for its command.
 *
 * <p>Immutable in contract: {@code payload} (the WRITE data, empty otherwise) is owned by whoever
 * holds the request and is never copied again, for speed; it is a heap array so that the
 * capture record can share it.
 *
 * @param command     the command
 * @param flags       command flags ({@link NbdFlags#CMD_FLAG_FUA} ...)
 * @param cookie      the client's handle
 * @param offsetBytes first byte of the range (0 for FLUSH and DISC)
 * @param lengthBytes length of the range (unsigned 32-bit on the wire)
 * @param payload     WRITE data, exactly {@code lengthBytes} long; empty for other commands
 */
public record NbdRequest(NbdCommand command, int flags, long cookie, long offsetBytes, long lengthBytes,
        byte[] payload) implements NbdTransmissionRequest {

    private static final byte[] EMPTY = new byte[0];

    public NbdRequest {
        Objects.requireNonNull(command, "command");
        payload = payload == null ? EMPTY : payload;
    }

    /** A request without payload. */
    public static NbdRequest of(NbdCommand command, int flags, long cookie, long offsetBytes, long lengthBytes) {
        return new NbdRequest(command, flags, cookie, offsetBytes, lengthBytes, EMPTY);
    }

    public boolean hasFlag(int flag) {
        return (flags & flag) != 0;
    }

    @Override
    public String toString() {
        return "NbdRequest[" + command + " flags=0x" + Integer.toHexString(flags) + " cookie=0x"
                + Long.toHexString(cookie) + " offset=" + offsetBytes + " length=" + lengthBytes + "]";
    }
}
