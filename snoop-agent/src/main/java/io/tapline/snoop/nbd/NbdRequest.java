package io.tapline.snoop.nbd;

/**
 * A transmission-phase request (NBD proto.md "Request message"), kept until its reply.
 *
 * @param payload the WRITE data, or {@code null} when it was not (fully) captured or the command has none
 */
record NbdRequest(long cookie, int type, int flags, long offsetBytes, long lengthBytes, byte[] payload) {
    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_CACHE = 5;
    static final int CMD_WRITE_ZEROES = 6;
    static final int CMD_BLOCK_STATUS = 7;
    static final int CMD_RESIZE = 8;
    static final int FLAG_FUA = 1;
    static final int FLAG_NO_HOLE = 2;
}
