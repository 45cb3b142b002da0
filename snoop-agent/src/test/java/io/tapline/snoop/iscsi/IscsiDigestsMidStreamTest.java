package io.tapline.snoop.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A tap joined mid-connection where the login negotiated a header digest: whether a data digest
 * follows each data segment is negotiated apart (RFC 7143 §13.1), so the decoder must tell it
 * from the stream, or every segment after it is misframed by 4 bytes.
 */
class IscsiDigestsMidStreamTest {
    private static int crc(byte[] b, int from, int to) {
        CRC32C c = new CRC32C();
        c.update(b, from, to - from);
        return (int) c.getValue();
    }

    /** A Data-Out PDU (opcode 0x05) with header digest, and a data digest when asked. */
    private static byte[] dataOut(int itt, int offset, byte[] data, boolean dataDigest) {
        ByteBuffer h = ByteBuffer.allocate(48);
        h.put(0, (byte) 0x05).put(1, (byte) 0x80);
        h.putInt(4, data.length); // TotalAHSLength 0, DataSegmentLength
        h.putInt(16, itt).putInt(20, -1).putInt(40, offset);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(h.array());
        out.writeBytes(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(crc(h.array(), 0, 48)).array());
        int padded = (data.length + 3) & ~3;
        byte[] seg = java.util.Arrays.copyOf(data, padded);
        out.writeBytes(seg);
        if (dataDigest) {
            out.writeBytes(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(crc(seg, 0, padded))
                    .array());
        }
        return out.toByteArray();
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aDataDigestIsToldFromTheStreamWhenTheLoginWasNotSeen(boolean dataDigest) {
        List<IscsiPdu> pdus = new ArrayList<>();
        List<String> lost = new ArrayList<>();
        IscsiPduDecoder d = new IscsiPduDecoder(true, new IscsiPduDecoder.Listener() {
            @Override
            public void pdu(IscsiPdu pdu) {
                pdus.add(pdu);
            }

            @Override
            public void lostSync(String reason) {
                lost.add(reason);
            }

            @Override
            public void ended() {
            }
        });
        d.startMidStream();
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            byte[] data = new byte[1000 + i * 7]; // not a multiple of 4: padding too
            java.util.Arrays.fill(data, (byte) (0x30 + i));
            sent.add(data);
            stream.writeBytes(dataOut(0x100 + i, i * 8192, data, dataDigest));
        }
        byte[] all = stream.toByteArray();
        for (int at = 0; at < all.length; at += 100) { // in pieces, as segments arrive
            d.data(all, at, Math.min(100, all.length - at));
        }
        assertEquals(List.of(), lost, "no framing lost");
        assertEquals(5, pdus.size());
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(sent.get(i), pdus.get(i).data(), "segment " + i);
            assertFalse(pdus.get(i).dataDamaged(), "segment " + i);
        }
        assertEquals(dataDigest, d.dataDigest());
    }
}
