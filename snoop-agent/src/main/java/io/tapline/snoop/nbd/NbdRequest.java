package io.tapline.snoop.nbd;

import io.tapline.nbd.NbdCommand;

/**
 * A transmission-phase request (NBD proto.md "Request message"), kept until its reply.
 *
 * @param type    the command type as on the wire ({@link NbdCommand#wireValue()})
 * @param flags   command flags ({@code NbdFlags.CMD_FLAG_*})
 * @param payload the WRITE data, or {@code null} when it was not (fully) captured or the command has none
 */
record NbdRequest(long cookie, int type, int flags, long offsetBytes, long lengthBytes, byte[] payload) {
    /** The command of {@code type} (its wire value), or null when the value names none. */
    NbdCommand command() {
        return NbdCommand.fromWireValue(type);
    }
}
