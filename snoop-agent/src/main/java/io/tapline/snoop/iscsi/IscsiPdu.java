package io.tapline.snoop.iscsi;

/**
 * One iSCSI PDU (RFC 7143 §11.2): the 48-byte Basic Header Segment, the additional header
 * segments and the data segment without its padding. Digests are checked by the decoder and
 * not kept.
 *
 * @param bhs          the Basic Header Segment, 48 bytes
 * @param ahs          additional header segments (usually empty)
 * @param data         the data segment, exactly DataSegmentLength bytes; empty when it was placed
 * @param dataDamaged  the data digest did not match: the bytes are not what the sender sent
 * @param dataPlaced   the data segment went straight where the listener asked
 *                     ({@link IscsiPduDecoder.Listener#place}) and is not in {@code data}
 */
public record IscsiPdu(byte[] bhs, byte[] ahs, byte[] data, boolean dataDamaged, boolean dataPlaced) {
    /** DataSegmentLength (bytes 5..7). */
    public int dataLength() {
        return IscsiPduDecoder.u24(bhs, 5);
    }

    /** Opcode (byte 0, low 6 bits). */
    public int opcode() {
        return bhs[0] & 0x3F;
    }

    /** Byte 1: the opcode-specific flags (F bit 0x80). */
    public int flags() {
        return bhs[1] & 0xFF;
    }

    /** Initiator Task Tag, bytes 16..19. */
    public int itt() {
        return i32(16);
    }

    /** Big-endian unsigned 8-bit field. */
    public int u8(int at) {
        return bhs[at] & 0xFF;
    }

    /** Big-endian 32-bit field. */
    public int i32(int at) {
        return ((bhs[at] & 0xFF) << 24) | ((bhs[at + 1] & 0xFF) << 16) | ((bhs[at + 2] & 0xFF) << 8)
                | (bhs[at + 3] & 0xFF);
    }

    /** Big-endian unsigned 32-bit field. */
    public long u32(int at) {
        return i32(at) & 0xFFFF_FFFFL;
    }

    /** Logical unit number from bytes 8..15 (SAM-5 peripheral and flat addressing). */
    public int lun() {
        return ((bhs[8] & 0x3F) << 8) | (bhs[9] & 0xFF);
    }
}
