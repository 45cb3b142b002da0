package io.tapline.snoop.capture;

/**
 * Runs a classic BPF program (as libpcap compiled it, see {@link BpfCompiler}) on a frame in
 * place: the same semantics as libpcap's {@code bpf_filter} (pcap/bpf.h, bpf_filter.c): 32-bit
 * unsigned accumulator A and index X, 16 scratch words; a load beyond the captured bytes, or a
 * division by a zero X, rejects the frame; the program's return value is the snapshot length, 0
 * meaning reject.
 *
 * <p>Immutable and thread-safe (the scratch memory is per run).
 */
final class BpfInterpreter {
    private static final int LD = 0x00;
    private static final int LDX = 0x01;
    private static final int ST = 0x02;
    private static final int STX = 0x03;
    private static final int ALU = 0x04;
    private static final int JMP = 0x05;
    private static final int RET = 0x06;
    private static final int MISC = 0x07;
    private static final int W = 0x00;
    private static final int H = 0x08;
    private static final int B = 0x10;
    private static final int IMM = 0x00;
    private static final int ABS = 0x20;
    private static final int IND = 0x40;
    private static final int MEM = 0x60;
    private static final int LEN = 0x80;
    private static final int MSH = 0xa0;
    private static final int SRC_X = 0x08;
    private static final int MEMWORDS = 16;

    private final short[] code;
    private final byte[] jt;
    private final byte[] jf;
    private final int[] k;

    BpfInterpreter(short[] code, byte[] jt, byte[] jf, int[] k) {
        if (code.length == 0) {
            throw new IllegalArgumentException("BPF program: empty (expected: at least a return)");
        }
        this.code = code;
        this.jt = jt;
        this.jf = jf;
        this.k = k;
    }

    /** Instructions in the program. */
    int length() {
        return code.length;
    }

    /**
     * Runs the program on {@code buf[offset, offset + captured)}.
     *
     * @param wireLength the frame's original length ({@code len} in the filter language)
     * @return the program's return value; non-zero: the frame is accepted
     */
    int run(byte[] buf, int offset, int captured, int wireLength) {
        int a = 0;
        int x = 0;
        int[] mem = null;
        int pc = 0;
        while (true) {
            int op = code[pc] & 0xFFFF;
            int kk = k[pc];
            switch (op & 0x07) {
                case RET -> {
                    return switch (op & 0x18) {
                        case 0x00 -> kk;
                        case 0x08 -> x;
                        default -> a;
                    };
                }
                case LD, LDX -> {
                    int v;
                    switch (op & 0xe0) {
                        case IMM -> v = kk;
                        case LEN -> v = wireLength;
                        case MEM -> v = (mem == null ? mem = new int[MEMWORDS] : mem)[kk & 0x0F];
                        case ABS, IND -> {
                            long at = (op & 0xe0) == ABS ? Integer.toUnsignedLong(kk)
                                    : Integer.toUnsignedLong(x) + Integer.toUnsignedLong(kk);
                            int size = switch (op & 0x18) {
                                case W -> 4;
                                case H -> 2;
                                case B -> 1;
                                default -> throw unknown(pc, op);
                            };
                            if (at + size > captured) {
                                return 0;
                            }
                            v = load(buf, offset + (int) at, size);
                        }
                        case MSH -> {
                            long at = Integer.toUnsignedLong(kk);
                            if (at >= captured) {
                                return 0;
                            }
                            v = (buf[offset + (int) at] & 0x0F) << 2;
                        }
                        default -> throw unknown(pc, op);
                    }
                    if ((op & 0x07) == LD) {
                        a = v;
                    } else {
                        x = v;
                    }
                }
                case ST -> (mem == null ? mem = new int[MEMWORDS] : mem)[kk & 0x0F] = a;
                case STX -> (mem == null ? mem = new int[MEMWORDS] : mem)[kk & 0x0F] = x;
                case ALU -> {
                    int v = (op & SRC_X) != 0 ? x : kk;
                    switch (op & 0xf0) {
                        case 0x00 -> a += v;
                        case 0x10 -> a -= v;
                        case 0x20 -> a *= v;
                        case 0x30 -> {
                            if (v == 0) {
                                return 0;
                            }
                            a = Integer.divideUnsigned(a, v);
                        }
                        case 0x40 -> a |= v;
                        case 0x50 -> a &= v;
                        case 0x60 -> a = Integer.compareUnsigned(v, 32) < 0 ? a << v : 0;
                        case 0x70 -> a = Integer.compareUnsigned(v, 32) < 0 ? a >>> v : 0;
                        case 0x80 -> a = -a;
                        case 0x90 -> {
                            if (v == 0) {
                                return 0;
                            }
                            a = Integer.remainderUnsigned(a, v);
                        }
                        case 0xa0 -> a ^= v;
                        default -> throw unknown(pc, op);
                    }
                }
                case JMP -> {
                    int v = (op & SRC_X) != 0 ? x : kk;
                    boolean taken;
                    switch (op & 0xf0) {
                        case 0x00 -> {
                            pc += 1 + kk; // JA: k instructions forward
                            continue;
                        }
                        case 0x10 -> taken = a == v;
                        case 0x20 -> taken = Integer.compareUnsigned(a, v) > 0;
                        case 0x30 -> taken = Integer.compareUnsigned(a, v) >= 0;
                        case 0x40 -> taken = (a & v) != 0;
                        default -> throw unknown(pc, op);
                    }
                    pc += taken ? (jt[pc] & 0xFF) : (jf[pc] & 0xFF);
                }
                case MISC -> {
                    if ((op & 0xf8) == 0x00) {
                        x = a;
                    } else {
                        a = x;
                    }
                }
                default -> throw unknown(pc, op);
            }
            pc++;
        }
    }

    private static int load(byte[] b, int at, int size) {
        return switch (size) {
            case 4 -> ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
            case 2 -> ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
            default -> b[at] & 0xFF;
        };
    }

    private static IllegalStateException unknown(int pc, int op) {
        return new IllegalStateException("BPF instruction " + pc + ": opcode 0x" + Integer.toHexString(op)
                + " (expected: a classic BPF opcode libpcap emits)");
    }
}
