package io.tapline.snoop.capture;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import org.pcap4j.core.BpfProgram;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.Pcaps;
import org.pcap4j.packet.namednumber.DataLinkType;

/**
 * A BPF filter expression applied to the frames of a capture file, as {@code tcpdump -r FILE EXPR}
 * would: libpcap compiles the expression (through Pcap4J, once per link type met in the file: a
 * pcapng file may mix interfaces) and its {@code bpf_filter} runs the program on each frame with
 * the frame's captured and original lengths.
 *
 * <p>Cost: Pcap4J's {@code applyFilter} takes a whole array, so each frame is copied out of the
 * reader's window first (one copy of the captured bytes; measured in docs/benchmarks.md).
 *
 * <p>Not thread-safe: the import thread owns it. {@link #close} frees the compiled programs.
 */
public final class BpfFrameFilter implements AutoCloseable {
    /** libpcap's largest snapshot length: the program must not assume shorter frames. */
    private static final int SNAPLEN_BYTES = 262144;
    /** DLT_RAW on Linux: libpcap's pcap_open_dead takes DLT values, LINKTYPE_RAW (101) is not one. */
    private static final int DLT_RAW = 12;

    private final String expression;
    private final Map<LinkType, BpfProgram> programs = new EnumMap<>(LinkType.class);

    private BpfFrameFilter(String expression) {
        this.expression = expression;
    }

    /**
     * A filter for {@code expression}, checked at once against Ethernet (the common case) so that a
     * misspelt expression fails before anything is read.
     *
     * @throws IllegalArgumentException naming the expression and libpcap's reason when it does not compile
     */
    public static BpfFrameFilter compile(String expression) {
        BpfFrameFilter f = new BpfFrameFilter(expression);
        f.program(LinkType.ETHERNET);
        return f;
    }

    /** The expression as given. */
    public String expression() {
        return expression;
    }

    /**
     * Whether the frame {@code buf[offset, offset + length)} of {@code linkType} passes.
     *
     * @throws IllegalArgumentException when the expression does not compile for this link type
     *                                  (e.g. {@code ether host} on a raw IP capture)
     */
    public boolean accepts(LinkType linkType, byte[] buf, int offset, int length, int originalLength) {
        BpfProgram p = program(linkType);
        byte[] frame = offset == 0 && buf.length == length ? buf : Arrays.copyOfRange(buf, offset, offset + length);
        return p.applyFilter(frame, originalLength, length);
    }

    private BpfProgram program(LinkType linkType) {
        BpfProgram p = programs.get(linkType);
        if (p == null) {
            int dlt = linkType == LinkType.RAW ? DLT_RAW : linkType.wireValue();
            // A dead handle of the link type, as tcpdump -r does: its pcap_geterr says why a compile failed.
            try (PcapHandle dead = Pcaps.openDead(DataLinkType.getInstance(dlt), SNAPLEN_BYTES)) {
                p = dead.compileFilter(expression, BpfProgram.BpfCompileMode.OPTIMIZE, unknownNetmask());
            } catch (PcapNativeException | NotOpenException | RuntimeException e) {
                throw new IllegalArgumentException("--filter: '" + expression + "' (expected: a BPF expression valid for "
                        + linkType.name().toLowerCase(java.util.Locale.ROOT) + " frames: " + e.getMessage() + ")", e);
            }
            programs.put(linkType, p);
        }
        return p;
    }

    /** PCAP_NETMASK_UNKNOWN: only {@code ip broadcast} needs the netmask, and libpcap then says so. */
    private static Inet4Address unknownNetmask() {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {-1, -1, -1, -1});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (BpfProgram p : programs.values()) {
            p.free();
        }
        programs.clear();
    }
}
