package io.tapline.snoop.iscsi;

/**
 * The sense data of a SCSI Response's data segment (RFC 7143 §11.4.7.2: a 2-byte SenseLength,
 * then the sense data, SPC-4 §4.4: fixed format 0x70/0x71 or descriptor format 0x72/0x73), read
 * only as far as a tap needs: whether the device server refused the command before it altered
 * the medium, and whether it reports a deferred error (one of an earlier command).
 */
final class SenseData {
    private static final int NO_SENSE = 0x00;
    private static final int RECOVERED_ERROR = 0x01;
    private static final int ILLEGAL_REQUEST = 0x05;
    private static final int UNIT_ATTENTION = 0x06;
    /** SPC-4 additional sense codes of an invalid CDB: invalid opcode, LBA out of range, invalid field in CDB. */
    private static final int INVALID_COMMAND_OPERATION_CODE = 0x20;
    private static final int LBA_OUT_OF_RANGE = 0x21;
    private static final int INVALID_FIELD_IN_CDB = 0x24;

    /** What a CHECK CONDITION's sense data tells a tap about the command and the medium. */
    enum Verdict {
        /** The command was terminated before it altered the medium: nothing to mark. */
        NOT_PROCESSED,
        /**
         * A deferred error (response code 0x71/0x73, SPC-4 §4.5.5): an earlier command the device
         * server had already answered failed; which one, the sense data need not say.
         */
        DEFERRED_ERROR,
        /** Anything else, or sense data too short to read: the command may have altered the medium. */
        MAY_HAVE_ALTERED
    }

    private SenseData() {
    }

    /**
     * The verdict on {@code segment}. Not processed: ILLEGAL REQUEST for an invalid CDB (SPC-4
     * sense key 5 has the device server terminate such a command "without altering the medium";
     * an invalid parameter list, ASC 0x26, "may have already altered" it), and UNIT ATTENTION
     * (SPC-4 §5.14: the device server terminates the command with it instead of processing it; tgtd
     * and LIO report one on the first command of every new or reinstated I_T nexus). Both only as
     * current errors: a deferred error reports an earlier command.
     */
    static Verdict verdict(byte[] segment) {
        if (segment == null || segment.length < 2 + 4) {
            return Verdict.MAY_HAVE_ALTERED;
        }
        int senseLength = ((segment[0] & 0xFF) << 8) | (segment[1] & 0xFF);
        if (senseLength < 4 || segment.length < 2 + senseLength) {
            return Verdict.MAY_HAVE_ALTERED;
        }
        int code = segment[2] & 0x7F;
        int key;
        int asc;
        if (code == 0x70 || code == 0x71) {
            if (senseLength < 13) {
                return code == 0x71 ? Verdict.DEFERRED_ERROR : Verdict.MAY_HAVE_ALTERED;
            }
            key = segment[2 + 2] & 0x0F;
            asc = segment[2 + 12] & 0xFF;
        } else if (code == 0x72 || code == 0x73) {
            key = segment[2 + 1] & 0x0F;
            asc = segment[2 + 2] & 0xFF;
        } else {
            return Verdict.MAY_HAVE_ALTERED;
        }
        if (code == 0x71 || code == 0x73) {
            return key == NO_SENSE || key == RECOVERED_ERROR ? Verdict.MAY_HAVE_ALTERED : Verdict.DEFERRED_ERROR;
        }
        if (key == UNIT_ATTENTION) {
            return Verdict.NOT_PROCESSED;
        }
        return key == ILLEGAL_REQUEST
                && (asc == INVALID_COMMAND_OPERATION_CODE || asc == LBA_OUT_OF_RANGE || asc == INVALID_FIELD_IN_CDB)
                ? Verdict.NOT_PROCESSED : Verdict.MAY_HAVE_ALTERED;
    }
}
