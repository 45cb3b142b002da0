package io.tapline.snoop.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pcap4j.core.BpfProgram;
import org.pcap4j.core.Pcaps;
import org.pcap4j.packet.namednumber.DataLinkType;

/**
 * The in-JVM interpreter decides every frame as libpcap's own {@code bpf_filter} does (called
 * through Pcap4J on a copy of the frame), for programs using every instruction class: absolute,
 * indirect and header-length loads, scratch memory, each ALU operation with constants and X,
 * each jump; also on frames cut short, in the middle of the fields the filters read (loads beyond the captured
 * bytes reject), and on 32-bit values with the top bit set (unsigned shifts, compares, division).
 */
class BpfInterpreterTest {
    private static final List<String> FILTERS = List.of(
            "tcp port 13809", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0", "greater 1000", "less 100",
            "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x67446698", "ip[2:2] * 3 > 3000", "ip[2:2] / 3 > 300",
            "ip[2:2] - 40 > 1000", "ip[2:2] + 40 < 200", "len % 7 = 3", "(len ^ 0x55) & 0xff = 0x10",
            "ip[2:2] << 2 > 4000", "ip[2:2] >> 3 = 8", "ip[6] & 0x40 != 0", "-len < -100",
            "ip[2:2] | 1 = 0x35", "len - (ip[0] & 0xf) * 4 > 500", "tcp[13] = 0x18 and tcp dst port 13809",
            "ip[2:2] / (tcp[13] & 0x80) = 0", "ip[2:2] % (tcp[13] & 0x80) = 0", "ip[2:2] / (tcp[13] & 0x80) != 0", "not ip6 and (tcp or udp)",
            "tcp[4:4] >> 31 = 1", "tcp[4:4] / 3 > 0x50000000", "tcp[4:4] > 0x80000000", "tcp[4:4] % 7 = 1",
            "tcp[4:4] << 1 > 0x80000000");

    @Test
    void decidesEveryFrameAsLibpcapDoes() throws Exception {
        List<PcapRingFilesTest.Frame> frames = PcapRingFilesTest.sampleFrames();
        frames = new java.util.ArrayList<>(frames);
        frames.addAll(framesOf("nbd_sample_nbdkit.pcap"));
        Inet4Address unknown = (Inet4Address) InetAddress.getByAddress(new byte[] {-1, -1, -1, -1});
        long accepted = 0;
        for (String expr : FILTERS) {
            BpfInterpreter ours = BpfCompiler.compile(expr, 1, 262144);
            BpfProgram theirs = Pcaps.compileFilter(262144, DataLinkType.EN10MB, expr, BpfProgram.BpfCompileMode.OPTIMIZE,
                    unknown);
            try {
                for (int i = 0; i < frames.size(); i++) {
                    byte[] f = frames.get(i).data();
                    int wire = frames.get(i).originalLength();
                    for (int cut : new int[] {f.length, 60, 54, 48, 47, 46, 41, 38, 36, 35, 34, 16}) {
                        int captured = Math.min(f.length, cut);
                        byte[] shown = java.util.Arrays.copyOf(f, captured);
                        boolean libpcap = theirs.applyFilter(shown, wire, captured);
                        byte[] padded = new byte[captured + 20];
                        System.arraycopy(f, 0, padded, 7, captured);
                        boolean jvm = ours.run(padded, 7, captured, wire) != 0;
                        assertEquals(libpcap, jvm, "filter '" + expr + "' frame " + i + " captured " + captured);
                        accepted += jvm ? 1 : 0;
                    }
                }
            } finally {
                theirs.free();
            }
        }
        assertTrue(accepted > 1000, "the filters accept frames too: " + accepted);
    }

    private static List<PcapRingFilesTest.Frame> framesOf(String name) throws Exception {
        List<PcapRingFilesTest.Frame> out = new java.util.ArrayList<>();
        try (CaptureFileReader r = CaptureFileReader.open(Path.of(BpfInterpreterTest.class.getResource("/samples/" + name)
                .toURI()))) {
            while (r.next((linkType, buf, offset, length, originalLength, timeNanos) -> out.add(new PcapRingFilesTest.Frame(
                    java.util.Arrays.copyOfRange(buf, offset, offset + length), originalLength, timeNanos)))) {
                // every frame
            }
        }
        return out;
    }
}
