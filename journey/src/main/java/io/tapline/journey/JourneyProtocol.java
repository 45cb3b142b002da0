package io.tapline.journey;

/**
 * Constants of the journey link protocol shared by the shipper and the replayer. The byte
 * layout of every frame is documented on {@link JourneyDecoder} and in
 * {@code docs/journey-protocol.md}.
 */
public final class JourneyProtocol {
    /** The one protocol version this code speaks. */
    public static final int VERSION = 4;
    /** The first protocol version whose HELLO carries the source's generation (failover). */
    public static final int GENERATION_IN_HELLO = 4;
    /**
     * The largest generation a peer may announce (2^40 promotions): a value near 2^63 made the next
     * promotion wrap to generation 0, which every ordinary source then superseded (probe J D9).
     */
    public static final long MAX_GENERATION = 1L << 40;
    /** Oldest protocol version this code accepts in a HELLO. */
    public static final int MIN_SUPPORTED_VERSION = 2;
    /** Newest protocol version this code accepts in a HELLO. */
    public static final int MAX_SUPPORTED_VERSION = 4;
    /** Bytes of the frame header: u32 length and u8 type. */
    public static final int FRAME_HEADER_BYTES = 5;
    /** Fixed bytes of a BATCH body before its record bytes. */
    public static final int BATCH_HEADER_BYTES = 8 + 8 + 8 + 4 + 1 + 4 + 4;
    /**
     * Default bound on a frame's length field (type + body): 80 MiB, room for one record with the
     * largest payload the record format allows ({@code RecordCodec.MAX_RECORD_LENGTH}).
     */
    public static final int DEFAULT_MAX_FRAME_BYTES = 80 << 20;
    /** Largest UTF-8 string a message field may carry (u16 length prefix). */
    public static final int MAX_STRING_BYTES = 0xFFFF;

    private JourneyProtocol() {
    }

    /** The supported range as text, for REFUSED reasons and error messages. */
    public static String supportedRange() {
        return MIN_SUPPORTED_VERSION == MAX_SUPPORTED_VERSION
                ? String.valueOf(MIN_SUPPORTED_VERSION)
                : MIN_SUPPORTED_VERSION + ".." + MAX_SUPPORTED_VERSION;
    }

    /** Whether a HELLO's protocol version is one this code speaks. */
    public static boolean supports(int version) {
        return version >= MIN_SUPPORTED_VERSION && version <= MAX_SUPPORTED_VERSION;
    }
}
