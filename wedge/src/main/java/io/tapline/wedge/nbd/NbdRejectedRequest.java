package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdError;
import java.util.Objects;

/**
 * A request that {@link NbdRequestValidator} refused: the server answers it with {@code error}
 * and keeps the connection. Any WRITE payload has already been consumed from the stream.
 *
 * @param type        the command type as sent (it may name no command)
 * @param flags       the command flags as sent
 * @param cookie      the client's handle
 * @param offsetBytes the offset as sent (unsigned on the wire; negative here when above 2^63)
 * @param lengthBytes the length as sent
 * @param error       the error value to reply with
 * @param reason      {@code field: value (expected: constraint)}, for the log
 */
public record NbdRejectedRequest(int type, int flags, long cookie, long offsetBytes, long lengthBytes,
        NbdError error, String reason) implements NbdTransmissionRequest {

    public NbdRejectedRequest {
        Objects.requireNonNull(error, "error");
        Objects.requireNonNull(reason, "reason");
    }

    /** The command's name, or {@code type=N} when the value names none. */
    public String commandName() {
        NbdCommand c = NbdCommand.fromWireValue(type);
        return c == null ? "type=" + type : c.name();
    }
}
