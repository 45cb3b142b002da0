package io.tapline.snoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tapline.log.CaptureRecord;
import io.tapline.snoop.capture.PcapCapture;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offline reader takes every capture format it documents: the default sample rewritten as
 * pcapng (both byte orders; enhanced, simple and obsolete packet blocks; a block to skip) and as
 * big-endian nanosecond pcap decodes to exactly the records of the original file.
 */
class CaptureFormatsTest {
    private static final String VOLUME = SampleCapturesTest.ISCSI_VOLUME;

    @TempDir
    Path dir;

    @Test
    void pcapngInBothByteOrdersAndEveryPacketBlockDecodesLikeThePcap() throws Exception {
        List<CaptureRecord> expected = decode(Samples.file("sample_default.pcap"), "original");
        PcapFile pcap = PcapFile.read(Samples.file("sample_default.pcap"));
        for (ByteOrder order : List.of(ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN)) {
            for (int blockType : new int[] {6, 3, 2}) {
                Path p = dir.resolve("s" + order + blockType + ".pcapng");
                Files.write(p, pcapng(pcap, order, blockType));
                assertSameWrites(expected, decode(p, "ng" + order + blockType));
            }
        }
    }

    @Test
    void bigEndianNanosecondPcapDecodesLikeTheLittleEndianOne() throws Exception {
        List<CaptureRecord> expected = decode(Samples.file("sample_default.pcap"), "original");
        PcapFile pcap = PcapFile.read(Samples.file("sample_default.pcap"));
        ByteBuffer out = ByteBuffer.allocate(24 + pcap.records().stream().mapToInt(r -> r.length).sum());
        ByteBuffer header = ByteBuffer.wrap(pcap.header()).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(0xA1B23C4D).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
                .putInt(header.getInt(16)).putInt(header.getInt(20));
        for (byte[] r : pcap.records()) {
            ByteBuffer h = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
            out.putInt(h.getInt(0)).putInt(h.getInt(4) * 1000).putInt(h.getInt(8)).putInt(h.getInt(12));
            out.put(r, 16, r.length - 16);
        }
        Path p = dir.resolve("be.pcap");
        Files.write(p, out.array());
        assertSameWrites(expected, decode(p, "be"));
    }

    @Test
    void aFileThatIsNoCaptureIsRefusedNamingIt() throws Exception {
        Path p = dir.resolve("not.pcap");
        Files.writeString(p, "this is not a capture file at all");
        IOException e = assertThrows(IOException.class, () -> PcapCapture.openFile(p));
        assertNotNull(e.getMessage());
        assertEquals(true, e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void aPcapngCutInsideABlockKeepsWhatWasReadAndNamesTheError() throws Exception {
        PcapFile pcap = PcapFile.read(Samples.file("sample_default.pcap"));
        byte[] all = pcapng(pcap, ByteOrder.LITTLE_ENDIAN, 6);
        Path p = dir.resolve("cut.pcapng");
        Files.write(p, java.util.Arrays.copyOf(all, all.length / 2 + 5));
        Samples.Result r = Samples.decode(p, dir.resolve("cutbuffer"));
        assertEquals(true, r.packets() > 0);
        assertEquals(true, Samples.records(dir.resolve("cutbuffer"), VOLUME).stream()
                .anyMatch(x -> x.kind() == io.tapline.log.RecordKind.GAP));
    }

    private List<CaptureRecord> decode(Path p, String name) throws Exception {
        Samples.decode(p, dir.resolve(name));
        return Samples.records(dir.resolve(name), VOLUME);
    }

    private static void assertSameWrites(List<CaptureRecord> expected, List<CaptureRecord> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            CaptureRecord e = expected.get(i);
            CaptureRecord a = actual.get(i);
            assertEquals(e.kind(), a.kind(), "record " + i);
            assertEquals(e.offsetBytes(), a.offsetBytes(), "record " + i);
            assertEquals(e.lengthBytes(), a.lengthBytes(), "record " + i);
            assertEquals(java.util.Arrays.hashCode(e.payload()), java.util.Arrays.hashCode(a.payload()), "record " + i);
        }
    }

    /** The records of {@code pcap} as pcapng: SHB, a name resolution block to skip, IDB (ns resolution), packets. */
    static byte[] pcapng(PcapFile pcap, ByteOrder order, int packetBlock) {
        ByteBuffer header = ByteBuffer.wrap(pcap.header()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = ByteBuffer.allocate(1024 + pcap.records().stream().mapToInt(r -> r.length + 32).sum())
                .order(order);
        out.putInt(0x0A0D0D0A).putInt(28).putInt(0x1A2B3C4D).putShort((short) 1).putShort((short) 0).putLong(-1)
                .putInt(28);
        out.putInt(4).putInt(16).putInt(0).putInt(16); // name resolution block, only its end marker
        out.putInt(1).putInt(32).putShort((short) header.getInt(20)).putShort((short) 0).putInt(header.getInt(16))
                .putShort((short) 9).putShort((short) 1).put((byte) 9).put(new byte[3]).putInt(0).putInt(32);
        for (byte[] r : pcap.records()) {
            ByteBuffer h = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
            int caplen = h.getInt(8);
            int padded = (caplen + 3) & ~3;
            long ns = (h.getInt(0) & 0xFFFF_FFFFL) * 1_000_000_000L + (h.getInt(4) & 0xFFFF_FFFFL) * 1000;
            if (packetBlock == 3) {
                out.putInt(3).putInt(16 + padded).putInt(h.getInt(12));
                out.put(r, 16, caplen).put(new byte[padded - caplen]).putInt(16 + padded);
                continue;
            }
            out.putInt(packetBlock).putInt(32 + padded);
            if (packetBlock == 6) {
                out.putInt(0);
            } else {
                out.putShort((short) 0).putShort((short) 0);
            }
            out.putInt((int) (ns >>> 32)).putInt((int) ns).putInt(caplen).putInt(h.getInt(12));
            out.put(r, 16, caplen).put(new byte[padded - caplen]).putInt(32 + padded);
        }
        return java.util.Arrays.copyOf(out.array(), out.position());
    }
}
