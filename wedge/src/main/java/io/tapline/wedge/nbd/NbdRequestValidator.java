package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdError;
import io.tapline.nbd.NbdFlags;
import static io.tapline.nbd.NbdFlags.CMD_FLAG_DF;
import static io.tapline.nbd.NbdFlags.CMD_FLAG_FAST_ZERO;
import static io.tapline.nbd.NbdFlags.CMD_FLAG_FUA;
import static io.tapline.nbd.NbdFlags.CMD_FLAG_NO_HOLE;
import static io.tapline.nbd.NbdFlags.CMD_FLAG_PAYLOAD_LEN;
import static io.tapline.nbd.NbdFlags.CMD_FLAG_REQ_ONE;

/**
 * Every check a transmission request must pass, in one place (the role of nbdkit's
 * {@code validate_request} in {@code server/protocol.c}). Called once per request header by
 * {@link NbdRequestDecoder}; handlers downstream trust what it let through.
 *
 * <p>Error values follow proto.md: an unknown command or a flag not negotiated or not allowed
 * for the command gives {@code EINVAL}; a range past the end of the export gives {@code ENOSPC}
 * for WRITE and WRITE_ZEROES and {@code EINVAL} otherwise; a READ longer than the advertised
 * maximum block size gives {@code EOVERFLOW} (proto.md keeps it for a command without payload
 * asking more than the maximum), a WRITE carrying more {@code EINVAL}; FLUSH must carry offset and length 0;
 * a zero length on a ranged command is {@code EINVAL}. FUA is accepted on every command (proto.md:
 * the server MUST accept it, even by ignoring it) and DISC is never refused: it has no reply.
 *
 * <p>Stateless and thread-safe.
 */
public final class NbdRequestValidator {
    /** Flags this server negotiates (simple replies only: no DF, REQ_ONE, PAYLOAD_LEN). */
    private static final int ALL_KNOWN_FLAGS = CMD_FLAG_FUA | CMD_FLAG_NO_HOLE | CMD_FLAG_DF | CMD_FLAG_REQ_ONE
            | CMD_FLAG_FAST_ZERO | CMD_FLAG_PAYLOAD_LEN;

    private final long exportSizeBytes;
    private final int maxBlockBytes;

    public NbdRequestValidator(long exportSizeBytes, int maxBlockBytes) {
        if (exportSizeBytes <= 0) {
            throw new IllegalArgumentException("exportSizeBytes: " + exportSizeBytes + " (expected: > 0)");
        }
        if (maxBlockBytes <= 0) {
            throw new IllegalArgumentException("maxBlockBytes: " + maxBlockBytes + " (expected: > 0)");
        }
        this.exportSizeBytes = exportSizeBytes;
        this.maxBlockBytes = maxBlockBytes;
    }

    public long exportSizeBytes() {
        return exportSizeBytes;
    }

    public int maxBlockBytes() {
        return maxBlockBytes;
    }

    /**
     * Checks one request header.
     *
     * @param offsetBytes the offset as sent (unsigned 64-bit; negative here means above 2^63)
     * @param lengthBytes the length as sent (unsigned 32-bit, so 0..2^32-1)
     * @return {@code null} when the request is valid, else the rejection to reply with
     */
    public NbdRejectedRequest validate(int type, int flags, long cookie, long offsetBytes, long lengthBytes) {
        NbdCommand cmd = NbdCommand.fromWireValue(type);
        if (cmd == null || cmd == NbdCommand.BLOCK_STATUS || cmd == NbdCommand.RESIZE) {
            return reject(type, flags, cookie, offsetBytes, lengthBytes, NbdError.EINVAL,
                    "type: " + (cmd == null ? type : cmd) + " (expected: a negotiated command)");
        }
        if (cmd == NbdCommand.DISC) {
            // "There is no reply to an NBD_CMD_DISC": whatever its flags or range, the server ends
            // the session once the requests before it are answered.
            return null;
        }
        String badFlag = checkFlags(cmd, flags);
        if (badFlag != null) {
            return reject(type, flags, cookie, offsetBytes, lengthBytes, NbdError.EINVAL, badFlag);
        }
        if (!cmd.hasRange()) {
            if (offsetBytes != 0 || lengthBytes != 0) {
                return reject(type, flags, cookie, offsetBytes, lengthBytes, NbdError.EINVAL,
                        "offset/length: " + Long.toUnsignedString(offsetBytes) + "/" + lengthBytes
                                + " (expected: 0/0 for " + cmd + ")");
            }
            return null;
        }
        if (lengthBytes == 0) {
            return reject(type, flags, cookie, offsetBytes, lengthBytes, NbdError.EINVAL,
                    "length: 0 (expected: > 0 for " + cmd + ")");
        }
        if ((cmd == NbdCommand.READ || cmd == NbdCommand.WRITE) && lengthBytes > maxBlockBytes) {
            // proto.md: EOVERFLOW only for a command without payload asking more than the maximum
            // payload (a READ); a WRITE that carries too much is EINVAL.
            return reject(type, flags, cookie, offsetBytes, lengthBytes,
                    cmd == NbdCommand.READ ? NbdError.EOVERFLOW : NbdError.EINVAL,
                    "length: " + lengthBytes + " (expected: <= maximum block size " + maxBlockBytes + ")");
        }
        if (offsetBytes < 0 || offsetBytes > exportSizeBytes - lengthBytes) {
            NbdError error = cmd == NbdCommand.WRITE || cmd == NbdCommand.WRITE_ZEROES
                    ? NbdError.ENOSPC : NbdError.EINVAL;
            return reject(type, flags, cookie, offsetBytes, lengthBytes, error,
                    "offset+length: " + Long.toUnsignedString(offsetBytes) + "+" + lengthBytes
                            + " (expected: <= export size " + exportSizeBytes + ")");
        }
        return null;
    }

    private static String checkFlags(NbdCommand cmd, int flags) {
        int unknown = flags & ~ALL_KNOWN_FLAGS;
        if (unknown != 0) {
            return "flags: 0x" + Integer.toHexString(flags) + " (expected: no unknown bits 0x"
                    + Integer.toHexString(unknown) + ")";
        }
        if ((flags & (CMD_FLAG_DF | CMD_FLAG_REQ_ONE | CMD_FLAG_PAYLOAD_LEN)) != 0) {
            return "flags: 0x" + Integer.toHexString(flags)
                    + " (expected: no DF, REQ_ONE or PAYLOAD_LEN, which were not negotiated)";
        }
        // FUA: "valid for all commands ... the server MUST accept all commands with this bit set
        // (even by ignoring the bit)"; it means something on WRITE, TRIM and WRITE_ZEROES only.
        if ((flags & (CMD_FLAG_NO_HOLE | CMD_FLAG_FAST_ZERO)) != 0 && cmd != NbdCommand.WRITE_ZEROES) {
            return "flags: 0x" + Integer.toHexString(flags) + " (expected: NO_HOLE/FAST_ZERO only on WRITE_ZEROES)";
        }
        return null;
    }

    private static NbdRejectedRequest reject(int type, int flags, long cookie, long offset, long length,
            NbdError error, String reason) {
        return new NbdRejectedRequest(type, flags, cookie, offset, length, error, reason);
    }
}
