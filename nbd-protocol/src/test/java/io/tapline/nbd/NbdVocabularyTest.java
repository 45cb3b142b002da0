package io.tapline.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The wire values both the wedge and the snoop depend on: each value names its constant, and back. */
class NbdVocabularyTest {
    @Test
    void everyWireValueNamesItsConstantAndUnknownValuesNameNone() {
        for (NbdCommand c : NbdCommand.values()) {
            assertEquals(c, NbdCommand.fromWireValue(c.wireValue()));
        }
        for (NbdOption o : NbdOption.values()) {
            assertEquals(o, NbdOption.fromWireValue(o.wireValue()));
        }
        for (NbdError e : NbdError.values()) {
            assertEquals(e, NbdError.fromWireValue(e.wireValue()));
        }
        assertNull(NbdCommand.fromWireValue(9));
        assertNull(NbdCommand.fromWireValue(-1));
        assertNull(NbdOption.fromWireValue(0));
        assertEquals(6, NbdCommand.WRITE_ZEROES.wireValue());
        assertEquals(7, NbdOption.GO.wireValue());
        assertEquals(0x49484156, (int) (NbdFlags.IHAVEOPT >>> 32), "IHAV");
        assertEquals("NBDMAGIC", new String(java.nio.ByteBuffer.allocate(8).putLong(NbdFlags.NBDMAGIC).array(),
                java.nio.charset.StandardCharsets.US_ASCII));
    }
}
