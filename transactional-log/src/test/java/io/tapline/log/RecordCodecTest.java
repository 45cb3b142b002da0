package io.tapline.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The checks on stored records that pass on as they are (the shipper's path). */
class RecordCodecTest {
    private static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", "vol1", 7, 0, 1);

    private static byte[] record(long sequence, String volume, int payloadBytes) {
        byte[] payload = new byte[payloadBytes];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) (i * 7 + sequence);
        }
        return RecordCodec.encode(CaptureRecord.seal(volume, sequence, 1_000L, RecordKind.WRITE, 4096, payloadBytes, 0,
                WEDGE, payload));
    }

    @Test
    void aStoredRecordIsVerifiedWhereItLiesAndNamesItsSequenceAndVolume() {
        byte[] one = record(41, "vol1", 300);
        byte[] two = record(42, "välume", 10);
        ByteBuffer both = ByteBuffer.allocateDirect(8 + one.length + two.length);
        both.position(8);
        both.put(one).put(two);
        ByteBuffer second = both.duplicate().position(8 + one.length).asReadOnlyBuffer();
        assertEquals(42, RecordCodec.verifyEncoded(second));
        assertEquals(8 + one.length, second.position(), "not moved");
        assertEquals(42, RecordCodec.sequenceOf(second));
        assertTrue(RecordCodec.hasVolumeId(second, "välume".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertFalse(RecordCodec.hasVolumeId(second, "vol1".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        ByteBuffer first = both.duplicate().position(8).limit(8 + one.length);
        assertEquals(41, RecordCodec.verifyEncoded(first));
        assertTrue(RecordCodec.hasVolumeId(first, "vol1".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertFalse(RecordCodec.hasVolumeId(first, "vol2".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Test
    void aFlippedByteAnywhereAfterTheLengthIsRefused() {
        byte[] good = record(5, "vol1", 64);
        for (int i = 4; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x10;
            assertThrows(RecordFormatException.class, () -> RecordCodec.verifyEncoded(ByteBuffer.wrap(bad)),
                    "byte " + i);
        }
    }

    @Test
    void lengthsThatDoNotAddUpAreRefusedWithWhatWasExpected() {
        byte[] good = record(5, "vol1", 64);
        RecordFormatException e = assertThrows(RecordFormatException.class,
                () -> RecordCodec.verifyEncoded(ByteBuffer.wrap(good, 0, good.length - 1)));
        assertEquals("record: " + (good.length - 1) + " bytes (expected: " + good.length + " from recordLength)",
                e.getMessage());
        byte[] longer = good.clone();
        ByteBuffer.wrap(longer).putInt(44, 65); // payloadLength
        e = assertThrows(RecordFormatException.class, () -> RecordCodec.verifyEncoded(ByteBuffer.wrap(longer)));
        assertEquals("payloadLength: 65 (expected: the rest of " + good.length + " bytes from recordLength)",
                e.getMessage());
        byte[] version = good.clone();
        version[8] = 2;
        e = assertThrows(RecordFormatException.class, () -> RecordCodec.verifyEncoded(ByteBuffer.wrap(version)));
        assertEquals("formatVersion: 2 (expected: 1)", e.getMessage());
        byte[] crc = good.clone();
        crc[good.length - 1] ^= 1;
        e = assertThrows(RecordFormatException.class, () -> RecordCodec.verifyEncoded(ByteBuffer.wrap(crc)));
        assertTrue(e.getMessage().startsWith("crc32c: ") && e.getMessage().endsWith(" seq=5"), e.getMessage());
    }
}
