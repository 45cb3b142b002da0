package io.tapline.wedge.nbd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PayloadArraysTest {
    private static final int MIB = 1 << 20;

    @Test
    void anArrayGivenBackServesTheNextRequestOfItsLength() {
        PayloadArrays pool = PayloadArrays.pooled(8L * MIB, false);
        byte[] a = pool.take(MIB);
        assertEquals(MIB, a.length);
        pool.give(a);
        assertEquals(MIB, pool.pooledBytes());
        assertNotSame(a, pool.take(2 * MIB), "only the exact length is handed out");
        assertSame(a, pool.take(MIB));
        assertEquals(0, pool.pooledBytes());
        assertNotSame(a, pool.take(MIB), "one array, one request");
    }

    @Test
    void smallPayloadsAreNotPooled() {
        PayloadArrays pool = PayloadArrays.pooled(8L * MIB, false);
        byte[] small = pool.take(PayloadArrays.MIN_POOLED_BYTES - 1);
        pool.give(small);
        assertEquals(0, pool.pooledBytes());
        assertNotSame(small, pool.take(PayloadArrays.MIN_POOLED_BYTES - 1));
    }

    @Test
    void thePoolKeepsNoMoreThanItsBound() {
        PayloadArrays pool = PayloadArrays.pooled(2L * MIB, false);
        byte[][] held = {pool.take(MIB), pool.take(MIB), pool.take(MIB)};
        for (byte[] a : held) {
            pool.give(a);
        }
        assertEquals(2L * MIB, pool.pooledBytes());
        PayloadArrays off = PayloadArrays.none();
        byte[] a = off.take(MIB);
        off.give(a);
        assertNotSame(a, off.take(MIB));
    }

    @Test
    void anArrayGivenBackTwiceIsPooledOnce() {
        PayloadArrays pool = PayloadArrays.pooled(8L * MIB, false);
        byte[] a = pool.take(MIB);
        pool.give(a);
        pool.give(a);
        assertEquals(MIB, pool.pooledBytes());
        assertSame(a, pool.take(MIB));
        assertNotSame(a, pool.take(MIB), "never handed to two requests");
    }

    @Test
    void aCheckedPoolPoisonsWhatIsGivenBackAndRefusesItTwice() {
        PayloadArrays pool = PayloadArrays.pooled(8L * MIB, true);
        byte[] a = pool.take(MIB);
        Arrays.fill(a, (byte) 7);
        pool.give(a);
        byte[] poison = new byte[MIB];
        Arrays.fill(poison, PayloadArrays.POISON);
        assertArrayEquals(poison, a, "a use after completion reads poison, not the payload");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.give(a));
        assertTrue(e.getMessage().contains("given back twice"), e.getMessage());
        assertSame(a, pool.take(MIB));
        pool.give(a); // taken again, so giving it back is legal once more
    }
}
