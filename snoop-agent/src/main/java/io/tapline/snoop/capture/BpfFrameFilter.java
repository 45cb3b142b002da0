package io.tapline.snoop.capture;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * A BPF filter expression applied to the frames of a capture file, as {@code tcpdump -r FILE EXPR}
 * would: libpcap compiles the expression ({@link BpfCompiler}, once per link type met in the
 * file: a pcapng file may mix interfaces) and {@link BpfInterpreter} runs the program on each
 * frame in place, with the frame's captured and original lengths.
 *
 * <p>Why not libpcap's own {@code bpf_filter} per frame (Pcap4J's {@code BpfProgram.applyFilter})?
 * It takes a whole array, so each frame would be copied out of the reader's window and again by
 * JNA; measured on a 323 MB iSCSI capture that made the import 43 % slower (docs/benchmarks.md),
 * the in-JVM interpreter costs a few per cent.
 *
 * <p>Not thread-safe: the import thread owns it.
 */
public final class BpfFrameFilter implements AutoCloseable {
    /** libpcap's largest snapshot length: the program must not assume shorter frames. */
    private static final int SNAPLEN_BYTES = 262144;
    /** DLT_RAW on Linux: libpcap's pcap_open_dead takes DLT values, LINKTYPE_RAW (101) is not one. */
    private static final int DLT_RAW = 12;

    private final String expression;
    private final Map<LinkType, BpfInterpreter> programs = new EnumMap<>(LinkType.class);

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
        return program(linkType).run(buf, offset, length, originalLength) != 0;
    }

    private BpfInterpreter program(LinkType linkType) {
        BpfInterpreter p = programs.get(linkType);
        if (p == null) {
            int dlt = linkType == LinkType.RAW ? DLT_RAW : linkType.wireValue();
            try {
                p = BpfCompiler.compile(expression, dlt, SNAPLEN_BYTES);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--filter: '" + expression + "' (expected: a BPF expression valid for "
                        + linkType.name().toLowerCase(Locale.ROOT) + " frames: " + e.getMessage() + ")", e);
            }
            programs.put(linkType, p);
        }
        return p;
    }

    @Override
    public void close() {
        programs.clear();
    }
}
