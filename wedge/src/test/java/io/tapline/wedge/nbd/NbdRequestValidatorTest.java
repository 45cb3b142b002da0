package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdError;
import io.tapline.nbd.NbdFlags;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class NbdRequestValidatorTest {
    private final NbdRequestValidator v = new NbdRequestValidator(1 << 20, 32 << 20);

    private NbdError error(int type, int flags, long offset, long length) {
        NbdRejectedRequest r = v.validate(type, flags, 1, offset, length);
        return r == null ? NbdError.OK : r.error();
    }

    @Test
    void acceptsValidRequests() {
        assertNull(v.validate(0, 0, 1, 0, 1 << 20));
        assertNull(v.validate(1, NbdFlags.CMD_FLAG_FUA, 1, 4096, 4096));
        assertNull(v.validate(6, NbdFlags.CMD_FLAG_NO_HOLE | NbdFlags.CMD_FLAG_FUA, 1, 0, 1 << 20));
        assertNull(v.validate(3, 0, 1, 0, 0));
        assertNull(v.validate(5, 0, 1, 0, 512));
    }

    @Test
    void rejectsUnknownCommandWithEinval() {
        assertEquals(NbdError.EINVAL, error(42, 0, 0, 1));
        assertEquals(NbdError.EINVAL, error(7, 0, 0, 1)); // BLOCK_STATUS was not negotiated
    }

    @Test
    void rejectsOutOfRangeWritesWithEnospcAndReadsWithEinval() {
        assertEquals(NbdError.ENOSPC, error(1, 0, (1 << 20) - 1, 2));
        assertEquals(NbdError.ENOSPC, error(6, 0, 1 << 20, 1));
        assertEquals(NbdError.EINVAL, error(0, 0, 1 << 20, 1));
        assertEquals(NbdError.EINVAL, error(4, 0, -1L, 1)); // offset above 2^63
    }

    @Test
    void rejectsTooLongReadWithEoverflowAndTooLongWriteWithEinval() {
        assertEquals(NbdError.EOVERFLOW, error(0, 0, 0, (32 << 20) + 1));
        assertEquals(NbdError.EINVAL, error(1, 0, 0, 0xFFFF_FFFFL));
    }

    @Test
    void rejectsFlagsNotAllowedForTheCommand() {
        assertEquals(NbdError.EINVAL, error(1, NbdFlags.CMD_FLAG_NO_HOLE, 0, 1));
        assertEquals(NbdError.EINVAL, error(0, NbdFlags.CMD_FLAG_DF, 0, 1));
        assertEquals(NbdError.EINVAL, error(1, 0x8000, 0, 1));
    }

    @Test
    void rejectsZeroLengthAndFlushWithRange() {
        assertEquals(NbdError.EINVAL, error(1, 0, 0, 0));
        assertEquals(NbdError.EINVAL, error(3, 0, 512, 0));
    }

    /** proto.md: FUA "is valid for all commands ... the server MUST accept all commands with this bit set". */
    @Test
    void acceptsFuaOnEveryCommand() {
        NbdRequestValidator v = new NbdRequestValidator(1 << 30, 32 << 20);
        assertNull(v.validate(0, NbdFlags.CMD_FLAG_FUA, 1, 0, 512)); // READ
        assertNull(v.validate(3, NbdFlags.CMD_FLAG_FUA, 1, 0, 0)); // FLUSH
        assertNull(v.validate(5, NbdFlags.CMD_FLAG_FUA, 1, 0, 4096)); // CACHE
        assertNull(v.validate(2, NbdFlags.CMD_FLAG_FUA, 1, 0, 0)); // DISC
    }

    /** "There is no reply to an NBD_CMD_DISC": never refused, whatever it carries. */
    @Test
    void neverRefusesDisc() {
        NbdRequestValidator v = new NbdRequestValidator(1 << 30, 32 << 20);
        assertNull(v.validate(2, 0, 1, 0, 1));
        assertNull(v.validate(2, 0, 1, 512, 0));
        assertNull(v.validate(2, 0x8000, 1, 0, 0));
    }
}
