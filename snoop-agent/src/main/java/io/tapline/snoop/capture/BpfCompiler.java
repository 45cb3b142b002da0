package io.tapline.snoop.capture;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * Compiles a pcap-filter(7) expression with libpcap ({@code pcap_open_dead} + {@code pcap_compile},
 * called through JNA as Pcap4J calls them) and copies the program out as a {@link BpfInterpreter}:
 * libpcap stays the one authority on the filter language, and the frames are then filtered in the
 * JVM, in place, with no copy and no native call per frame.
 *
 * <p>Thread-safe: compiles are serialised (pcap_compile was not reentrant before libpcap 1.8).
 */
final class BpfCompiler {
    /** {@code PCAP_NETMASK_UNKNOWN}: only {@code ip broadcast} needs a netmask, and libpcap then says so. */
    private static final int NETMASK_UNKNOWN = 0xFFFFFFFF;
    /** {@code struct bpf_program}: {@code u_int bf_len}, then the instruction pointer at its alignment. */
    private static final int PROGRAM_BYTES = 2 * Native.POINTER_SIZE;
    /** {@code struct bpf_insn}: u_short code, u_char jt, u_char jf, bpf_u_int32 k (host order). */
    private static final int INSN_BYTES = 8;
    private static final Object LOCK = new Object();

    private BpfCompiler() {
    }

    /**
     * @param dlt          the frames' DLT value ({@code pcap_open_dead}'s link type)
     * @param snaplenBytes the largest frame the program may be given
     * @throws IllegalArgumentException with libpcap's reason when the expression does not compile
     */
    static BpfInterpreter compile(String expression, int dlt, int snaplenBytes) {
        LibPcap pcap = LibPcap.Holder.PCAP;
        synchronized (LOCK) {
            Pointer dead = pcap.pcap_open_dead(dlt, snaplenBytes);
            if (dead == null) {
                throw new IllegalArgumentException("pcap_open_dead: link type " + dlt + " (expected: a DLT libpcap knows)");
            }
            try {
                Memory program = new Memory(PROGRAM_BYTES);
                program.clear();
                if (pcap.pcap_compile(dead, program, expression, 1, NETMASK_UNKNOWN) != 0) {
                    throw new IllegalArgumentException(pcap.pcap_geterr(dead));
                }
                try {
                    int length = program.getInt(0);
                    Pointer insns = program.getPointer(Native.POINTER_SIZE);
                    short[] code = new short[length];
                    byte[] jt = new byte[length];
                    byte[] jf = new byte[length];
                    int[] k = new int[length];
                    for (int i = 0; i < length; i++) {
                        long at = (long) i * INSN_BYTES;
                        code[i] = insns.getShort(at);
                        jt[i] = insns.getByte(at + 2);
                        jf[i] = insns.getByte(at + 3);
                        k[i] = insns.getInt(at + 4);
                    }
                    return new BpfInterpreter(code, jt, jf, k);
                } finally {
                    pcap.pcap_freecode(program);
                }
            } finally {
                pcap.pcap_close(dead);
            }
        }
    }
}
