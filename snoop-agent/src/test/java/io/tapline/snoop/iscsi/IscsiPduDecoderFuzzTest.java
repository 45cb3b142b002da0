package io.tapline.snoop.iscsi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Byte-at-a-time decoding, and a bounded random-input loop with a fixed seed over the iSCSI PDU
 * decoder and connection tracker (Jazzer is not available here): no exception, no hang.
 */
class IscsiPduDecoderFuzzTest {

    static byte[] bhs(int opcode, int flags, int dataLength, int itt) {
        byte[] b = new byte[48];
        b[0] = (byte) opcode;
        b[1] = (byte) flags;
        b[5] = (byte) (dataLength >>> 16);
        b[6] = (byte) (dataLength >>> 8);
        b[7] = (byte) dataLength;
        b[9] = 1;
        b[16] = (byte) (itt >>> 24);
        b[17] = (byte) (itt >>> 16);
        b[18] = (byte) (itt >>> 8);
        b[19] = (byte) itt;
        return b;
    }

    @Test
    void decodesPdusFedOneByteAtATimeIncludingPadding() {
        List<IscsiPdu> out = new ArrayList<>();
        IscsiPduDecoder d = new IscsiPduDecoder(true, new IscsiPduDecoder.Listener() {
            public void pdu(IscsiPdu pdu) {
                out.add(pdu);
            }

            public void lostSync(String reason) {
                throw new AssertionError(reason);
            }

            public void ended() {
            }
        });
        byte[] first = bhs(0x05, 0x80, 5, 7);
        byte[] stream = new byte[48 + 8 + 48];
        System.arraycopy(first, 0, stream, 0, 48);
        System.arraycopy(new byte[] {1, 2, 3, 4, 5}, 0, stream, 48, 5);
        System.arraycopy(bhs(0x00, 0x80, 0, 9), 0, stream, 56, 48);
        for (byte x : stream) {
            d.data(new byte[] {x}, 0, 1);
        }
        assertEquals(2, out.size());
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, out.get(0).data());
        assertEquals(7, out.get(0).itt());
        assertEquals(9, out.get(1).itt());
    }

    @Test
    void randomInputNeverThrowsOrHangs() {
        Random random = new Random(20261121L);
        SnoopSink sink = new SnoopSink() {
            public void geometry(VolumeKey v, long s, int b) {
            }

            public void completed(VolumeKey v, RecordKind k, long o, long l, int f, Provenance p, byte[] d) {
            }

            public void gap(VolumeKey v, long o, long l, String r) {
            }

            public void readSeen(VolumeKey v) {
            }
        };
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int round = 0; round < 2000; round++) {
                IscsiConnection c = new IscsiConnection("i:1", "t:3260", sink, new LunGeometry(512));
                if (random.nextBoolean()) {
                    c.startMidStream();
                }
                for (int chunk = 0; chunk < 20; chunk++) {
                    byte[] b = new byte[random.nextInt(300)];
                    random.nextBytes(b);
                    if (b.length >= 48 && random.nextBoolean()) {
                        // a plausible header with random fields keeps the decoder past the resync scan
                        byte[] h = bhs(random.nextBoolean() ? 0x01 : 0x05, 0x80, random.nextInt(64), random.nextInt());
                        System.arraycopy(h, 0, b, 0, 48);
                    }
                    if (random.nextInt(10) == 0) {
                        c.initiatorStream().gap(random.nextInt(1000));
                    }
                    (random.nextBoolean() ? c.initiatorStream() : c.targetStream()).data(b, 0, b.length);
                }
                c.initiatorStream().end();
                c.targetStream().end();
            }
        });
    }
}
