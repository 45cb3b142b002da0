package io.tapline.log;

import java.util.Objects;

/**
 * Where a captured command came from, for auditors: the bus, the initiator and target
 * addresses, the command's tag (iSCSI ITT or NBD cookie), the iSCSI CmdSN (0 elsewhere) and the
 * opcode (SCSI CDB opcode, or NBD command type).
 *
 * <p>Immutable. Addresses are free text ({@code 127.0.0.1:53122}, an IQN), at most 255 UTF-8
 * bytes each.
 */
public record Provenance(Bus bus, String initiator, String target, long tag, int cmdSn, int opcode) {

    /** The provenance of records Tapline raises itself (marks, gaps). */
    public static final Provenance INTERNAL = new Provenance(Bus.INTERNAL, "", "", 0, 0, 0);

    public Provenance {
        Objects.requireNonNull(bus, "bus");
        Objects.requireNonNull(initiator, "initiator");
        Objects.requireNonNull(target, "target");
        if (opcode < 0 || opcode > 0xFFFF) {
            throw new IllegalArgumentException("opcode: " + opcode + " (expected: 0..65535)");
        }
    }
}
