package io.tapline.snoop.iscsi;

/**
 * The sense data of a SCSI Response's data segment (RFC 7143 §11.4.7.2: a 2-byte SenseLength,
 * then the sense data, SPC-4 §4.4: fixed format 0x70/0x71 or descriptor format 0x72/0x73), read
 * only as far as telling a command the device server refused before it altered the medium.
 */
final class SenseData {
    private static final int ILLEGAL_REQUEST = 0x05;
    /** SPC-4 additional sense codes of an invalid CDB: invalid opcode, LBA out of range, invalid field in CDB. */
    private static final int INVALID_COMMAND_OPERATION_CODE = 0x20;
    private static final int LBA_OUT_OF_RANGE = 0x21;
    private static final int INVALID_FIELD_IN_CDB = 0x24;

    private SenseData() {
    }

    /**
     * Whether {@code segment} says ILLEGAL REQUEST for an invalid CDB: SPC-4 (sense key 5) has the
     * device server terminate such a command "without altering the medium". An invalid parameter
     * list (UNMAP's descriptors, ASC 0x26) "may have already altered" it, and any other or
     * unreadable sense is no such proof.
     */
    static boolean refusedWithoutAlteringTheMedium(byte[] segment) {
        if (segment == null || segment.length < 2 + 4) {
            return false;
        }
        int senseLength = ((segment[0] & 0xFF) << 8) | (segment[1] & 0xFF);
        if (senseLength < 4 || segment.length < 2 + senseLength) {
            return false;
        }
        int code = segment[2] & 0x7F;
        int key;
        int asc;
        if (code == 0x70 || code == 0x71) {
            if (senseLength < 13) {
                return false;
            }
            key = segment[2 + 2] & 0x0F;
            asc = segment[2 + 12] & 0xFF;
        } else if (code == 0x72 || code == 0x73) {
            key = segment[2 + 1] & 0x0F;
            asc = segment[2 + 2] & 0xFF;
        } else {
            return false;
        }
        return key == ILLEGAL_REQUEST
                && (asc == INVALID_COMMAND_OPERATION_CODE || asc == LBA_OUT_OF_RANGE || asc == INVALID_FIELD_IN_CDB);
    }
}
