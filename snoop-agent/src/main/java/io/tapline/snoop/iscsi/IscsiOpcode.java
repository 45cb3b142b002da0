package io.tapline.snoop.iscsi;

/** iSCSI opcodes (RFC 7143 §11.2.1.2) with which side sends them. */
enum IscsiOpcode {
    NOP_OUT(0x00, true), SCSI_COMMAND(0x01, true), TASK_MANAGEMENT_REQUEST(0x02, true), LOGIN_REQUEST(0x03, true),
    TEXT_REQUEST(0x04, true), DATA_OUT(0x05, true), LOGOUT_REQUEST(0x06, true), SNACK(0x10, true),
    NOP_IN(0x20, false), SCSI_RESPONSE(0x21, false), TASK_MANAGEMENT_RESPONSE(0x22, false),
    LOGIN_RESPONSE(0x23, false), TEXT_RESPONSE(0x24, false), DATA_IN(0x25, false), LOGOUT_RESPONSE(0x26, false),
    R2T(0x31, false), ASYNC_MESSAGE(0x32, false), REJECT(0x3F, false);

    private static final IscsiOpcode[] BY_VALUE = new IscsiOpcode[64];

    static {
        for (IscsiOpcode op : values()) {
            BY_VALUE[op.wireValue] = op;
        }
    }

    final int wireValue;
    final boolean fromInitiator;

    IscsiOpcode(int wireValue, boolean fromInitiator) {
        this.wireValue = wireValue;
        this.fromInitiator = fromInitiator;
    }

    /** The opcode of {@code value & 0x3F}, or {@code null} when it names none. */
    static IscsiOpcode of(int value) {
        return BY_VALUE[value & 0x3F];
    }
}
