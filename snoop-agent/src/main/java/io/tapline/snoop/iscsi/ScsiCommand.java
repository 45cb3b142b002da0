package io.tapline.snoop.iscsi;

/**
 * What a SCSI CDB asks for, as far as write capture cares (SBC-4 §5): the write-nature
 * commands, SYNCHRONIZE CACHE, FORMAT UNIT, READ CAPACITY and reads.
 *
 * @param nature  the kind of command
 * @param opcode  the CDB's operation code
 * @param lba     first logical block
 * @param blocks  number of logical blocks (0 where SBC-4 gives it a special meaning)
 * @param unmap   WRITE SAME with the UNMAP bit
 * @param ndob    WRITE SAME(16) with NDOB (no data-out buffer: zeroes)
 * @param fua     the FUA bit of WRITE(10/12/16)
 */
record ScsiCommand(Nature nature, int opcode, long lba, long blocks, boolean unmap, boolean ndob, boolean fua) {

    enum Nature { WRITE, WRITE_SAME, UNMAP, COMPARE_AND_WRITE, SYNCHRONIZE_CACHE, FORMAT_UNIT, READ_CAPACITY_10,
        READ_CAPACITY_16, READ, OTHER }

    /** Whether the target changes or flushes the medium when it completes the command with GOOD. */
    boolean writeNature() {
        return switch (nature) {
            case WRITE, WRITE_SAME, UNMAP, COMPARE_AND_WRITE, SYNCHRONIZE_CACHE, FORMAT_UNIT -> true;
            default -> false;
        };
    }

    /** Parses the CDB at {@code cdb[at, at+16)} (bytes 32..47 of a SCSI Command BHS). */
    static ScsiCommand parse(byte[] cdb, int at) {
        int op = cdb[at] & 0xFF;
        int b1 = cdb[at + 1] & 0xFF;
        boolean fua = (b1 & 0x08) != 0;
        return switch (op) {
            case 0x0A -> new ScsiCommand(Nature.WRITE, op, ((b1 & 0x1F) << 16) | u16(cdb, at + 2),
                    (cdb[at + 4] & 0xFF) == 0 ? 256 : cdb[at + 4] & 0xFF, false, false, false);
            case 0x2A -> new ScsiCommand(Nature.WRITE, op, u32(cdb, at + 2), u16(cdb, at + 7), false, false, fua);
            case 0x2E -> new ScsiCommand(Nature.WRITE, op, u32(cdb, at + 2), u16(cdb, at + 7), false, false, false);
            case 0xAA -> new ScsiCommand(Nature.WRITE, op, u32(cdb, at + 2), u32(cdb, at + 6), false, false, fua);
            case 0xAE -> new ScsiCommand(Nature.WRITE, op, u32(cdb, at + 2), u32(cdb, at + 6), false, false, false);
            case 0x8A -> new ScsiCommand(Nature.WRITE, op, u64(cdb, at + 2), u32(cdb, at + 10), false, false, fua);
            case 0x8E -> new ScsiCommand(Nature.WRITE, op, u64(cdb, at + 2), u32(cdb, at + 10), false, false, false);
            case 0x41 -> new ScsiCommand(Nature.WRITE_SAME, op, u32(cdb, at + 2), u16(cdb, at + 7), (b1 & 0x08) != 0,
                    false, false);
            case 0x93 -> new ScsiCommand(Nature.WRITE_SAME, op, u64(cdb, at + 2), u32(cdb, at + 10), (b1 & 0x08) != 0,
                    (b1 & 0x01) != 0, false);
            case 0x42 -> new ScsiCommand(Nature.UNMAP, op, 0, 0, false, false, false);
            case 0x89 -> new ScsiCommand(Nature.COMPARE_AND_WRITE, op, u64(cdb, at + 2), cdb[at + 13] & 0xFF, false,
                    false, fua);
            case 0x35 -> new ScsiCommand(Nature.SYNCHRONIZE_CACHE, op, u32(cdb, at + 2), u16(cdb, at + 7), false, false,
                    false);
            case 0x91 -> new ScsiCommand(Nature.SYNCHRONIZE_CACHE, op, u64(cdb, at + 2), u32(cdb, at + 10), false,
                    false, false);
            case 0x04 -> new ScsiCommand(Nature.FORMAT_UNIT, op, 0, 0, false, false, false);
            case 0x25 -> new ScsiCommand(Nature.READ_CAPACITY_10, op, 0, 0, false, false, false);
            case 0x9E -> new ScsiCommand((b1 & 0x1F) == 0x10 ? Nature.READ_CAPACITY_16 : Nature.OTHER, op, 0, 0, false,
                    false, false);
            case 0x08, 0x28, 0xA8, 0x88 -> new ScsiCommand(Nature.READ, op, 0, 0, false, false, false);
            default -> new ScsiCommand(Nature.OTHER, op, 0, 0, false, false, false);
        };
    }

    static int u16(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }

    static long u32(byte[] b, int at) {
        return ((long) u16(b, at) << 16) | u16(b, at + 2);
    }

    static long u64(byte[] b, int at) {
        return (u32(b, at) << 32) | u32(b, at + 4);
    }
}
