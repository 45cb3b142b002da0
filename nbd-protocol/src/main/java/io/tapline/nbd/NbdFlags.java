package io.tapline.nbd;

/**
 * Magic numbers and flag bits of the NBD protocol (proto.md), in one place for the wedge's server
 * and the snoop's decoders and source reader. Values are as on the wire (network byte order when
 * sent).
 */
public final class NbdFlags {
    /** "NBDMAGIC", first 8 bytes of the server greeting. */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** "IHAVEOPT": greeting and every option request. */
    public static final long IHAVEOPT = 0x49484156454F5054L;
    /** Magic of every fixed-newstyle option reply. */
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    /** Magic of a transmission request. */
    public static final int REQUEST_MAGIC = 0x25609513;
    /** Magic of a simple reply. */
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    /** Second 8 bytes of an oldstyle server greeting (after NBDMAGIC). */
    public static final long OLDSTYLE_MAGIC = 0x00420281861253L;
    /** Magic of a transmission request with extended headers (64-bit length). */
    public static final int EXTENDED_REQUEST_MAGIC = 0x21e41c71;
    /** Magic of a structured reply chunk. */
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    /** Magic of an extended reply chunk (extended headers). */
    public static final int EXTENDED_REPLY_MAGIC = 0x6e8a278c;

    // Structured reply chunks.
    /** Chunk flag: the last chunk of its reply. */
    public static final int REPLY_FLAG_DONE = 1;
    /** Chunk type bit of every error chunk type (NBD_REPLY_TYPE_ERROR, ERROR_OFFSET). */
    public static final int REPLY_TYPE_ERROR_BIT = 1 << 15;

    // Handshake flags (server, 16 bits).
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 1 << 1;

    // Client flags (32 bits).
    public static final int FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int FLAG_C_NO_ZEROES = 1 << 1;
    public static final int KNOWN_CLIENT_FLAGS = FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES;

    // Transmission flags (16 bits).
    public static final int FLAG_HAS_FLAGS = 1;
    public static final int FLAG_READ_ONLY = 1 << 1;
    public static final int FLAG_SEND_FLUSH = 1 << 2;
    public static final int FLAG_SEND_FUA = 1 << 3;
    public static final int FLAG_ROTATIONAL = 1 << 4;
    public static final int FLAG_SEND_TRIM = 1 << 5;
    public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int FLAG_SEND_DF = 1 << 7;
    public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int FLAG_SEND_RESIZE = 1 << 9;
    public static final int FLAG_SEND_CACHE = 1 << 10;
    public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

    // Command flags (16 bits).
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;
    public static final int CMD_FLAG_PAYLOAD_LEN = 1 << 5;

    /** Size of a transmission request header. */
    public static final int REQUEST_HEADER_BYTES = 28;
    /** Size of a simple reply header. */
    public static final int SIMPLE_REPLY_HEADER_BYTES = 16;

    private NbdFlags() {
    }
}
