package io.tapline.snoop.capture;

/**
 * The link-layer header types (tcpdump.org LINKTYPE_ values) the snoop-agent parses, with where
 * the network-layer header starts.
 */
public enum LinkType {
    /** LINKTYPE_NULL: 4-byte host-order address family (BSD loopback). */
    NULL(0),
    /** LINKTYPE_ETHERNET: 14-byte header, 802.1Q tags skipped. */
    ETHERNET(1),
    /** LINKTYPE_RAW: the frame starts with the IP header. */
    RAW(101),
    /** LINKTYPE_LOOP: 4-byte network-order address family (OpenBSD loopback). */
    LOOP(108),
    /** LINKTYPE_LINUX_SLL: 16-byte Linux cooked header, protocol at byte 14. */
    LINUX_SLL(113),
    /** LINKTYPE_LINUX_SLL2: 20-byte Linux cooked header v2, protocol at byte 0. */
    LINUX_SLL2(276);

    private final int wireValue;

    LinkType(int wireValue) {
        this.wireValue = wireValue;
    }

    public int wireValue() {
        return wireValue;
    }

    /** Maps a DLT / LINKTYPE value (DLT_RAW 12 and 14 included) to its type. */
    public static LinkType fromWireValue(int value) {
        if (value == 12 || value == 14) {
            return RAW;
        }
        for (LinkType t : values()) {
            if (t.wireValue == value) {
                return t;
            }
        }
        throw new IllegalArgumentException("link type: " + value
                + " (expected: 0 null, 1 ethernet, 101 raw, 108 loop, 113 linux-sll, 276 linux-sll2)");
    }
}
