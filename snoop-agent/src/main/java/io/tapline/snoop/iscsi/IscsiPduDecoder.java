package io.tapline.snoop.iscsi;

import io.tapline.snoop.tcp.StreamConsumer;
import java.util.zip.CRC32C;

/**
 * Splits one direction of an iSCSI connection into PDUs (RFC 7143 §11.2: BHS, AHS, header
 * digest, data segment padded to 4 bytes, data digest; digests are CRC32C per §13.1).
 *
 * <p>Framing is lost after a stream gap, after a header that cannot be a PDU of this direction,
 * after a header-digest mismatch, and when the capture joined the connection mid-stream. The
 * decoder then scans byte by byte for a plausible header (the right opcode for this direction
 * with its reserved fields zero, §11), as a careful dissector does, and reports the stretch it
 * skipped through {@link Listener#lostSync}. When the digests were not negotiated in view, a
 * plausible header followed by a matching CRC32C switches the header digest on; the first data
 * segment then tells whether a data digest follows it (the next header starts right after the
 * segment, or 4 bytes later), as the two are negotiated apart.
 *
 * <p>Not thread-safe: the capture thread feeds it.
 */
public final class IscsiPduDecoder implements StreamConsumer {
    /** Largest DataSegmentLength the field allows (24 bits). */
    static final int MAX_DATA_SEGMENT_BYTES = (1 << 24) - 1;
    private static final int BHS_BYTES = 48;
    private static final int RESYNC_MAX_DATA_BYTES = 4 << 20;

    /** Receives decoded PDUs and framing losses. */
    public interface Listener {
        void pdu(IscsiPdu pdu);

        /**
         * Asked once the header of a PDU with a data segment is read: the listener may name where
         * the segment's bytes go ({@link Placement#set}) and return true, so they are copied once,
         * from the stream straight to their destination; the PDU then arrives with
         * {@link IscsiPdu#dataPlaced()}. The destination must stay reserved until that PDU or a
         * {@link #lostSync} arrives. Returns false (the default) to get the bytes in {@link IscsiPdu#data()}.
         */
        default boolean place(byte[] bhs, int dataLength, Placement placement) {
            return false;
        }

        /** Framing was lost; {@code reason} says why. PDUs may be missing until the next {@link #pdu}. */
        void lostSync(String reason);

        /** The stream ended. */
        void ended();
    }

    private enum State { BHS, HEADER_REST, DATA, RESYNC }

    /** Where a listener wants a data segment: {@code array[offset, offset + DataSegmentLength)}. */
    public static final class Placement {
        byte[] array;
        int offset;

        /** Names the destination; the range must lie inside {@code array}. */
        public void set(byte[] array, int offset) {
            this.array = array;
            this.offset = offset;
        }
    }

    private static final byte[] EMPTY = new byte[0];

    private final boolean fromInitiator;
    private final Listener listener;
    private final CRC32C crc = new CRC32C();
    private State state = State.BHS;
    private boolean headerDigest;
    private boolean dataDigest;
    private boolean digestsKnown;
    /**
     * A header digest was found while the login was not in view: DataDigest is negotiated apart
     * (RFC 7143 §13.1), so the first data segment decides it by looking past itself for the next
     * header, with and without a data digest ({@link #LOOKAHEAD_BYTES}).
     */
    private boolean dataDigestUnsure;
    /** Bytes read past a data segment (and a digest) while {@link #dataDigestUnsure}: a header and its digest. */
    private static final int LOOKAHEAD_BYTES = BHS_BYTES + 4;
    private int lookahead;

    private byte[] bhs = new byte[BHS_BYTES];
    private int bhsFill;
    private byte[] rest;
    private int restFill;
    private byte[] data;
    private int dataFill;
    private int dataLength;
    private int dataTotal;
    private final Placement placement = new Placement();
    private boolean placed;
    private final byte[] window = new byte[BHS_BYTES + 4];
    private int windowFill;
    private long skippedBytes;

    public IscsiPduDecoder(boolean fromInitiator, Listener listener) {
        this.fromInitiator = fromInitiator;
        this.listener = listener;
    }

    /** Starts scanning for a header instead of expecting one (capture joined mid-stream). */
    public void startMidStream() {
        enterResync();
    }

    /** Sets the digests negotiated at login (RFC 7143 §13.1); they apply from the next PDU. */
    public void digests(boolean header, boolean dataSegment) {
        this.headerDigest = header;
        this.dataDigest = dataSegment;
        this.digestsKnown = true;
        this.dataDigestUnsure = false;
    }

    public boolean headerDigest() {
        return headerDigest;
    }

    public boolean dataDigest() {
        return dataDigest;
    }

    @Override
    public void data(byte[] bytes, int offset, int length) {
        int at = offset;
        int end = offset + length;
        while (at < end) {
            at += switch (state) {
                case BHS -> readBhs(bytes, at, end - at);
                case HEADER_REST -> readHeaderRest(bytes, at, end - at);
                case DATA -> readData(bytes, at, end - at);
                case RESYNC -> resync(bytes, at, end - at);
            };
        }
    }

    @Override
    public void gap(long lengthBytes) {
        listener.lostSync("stream gap: " + lengthBytes + " bytes");
        enterResync();
    }

    @Override
    public void end() {
        if (state != State.BHS || bhsFill != 0) {
            listener.lostSync("stream ended inside a PDU (state " + state + ")");
        }
        listener.ended();
    }

    private int readBhs(byte[] b, int at, int n) {
        int take = Math.min(n, BHS_BYTES - bhsFill);
        System.arraycopy(b, at, bhs, bhsFill, take);
        bhsFill += take;
        if (bhsFill == BHS_BYTES) {
            String problem = problem(bhs, 0, false);
            if (problem != null) {
                listener.lostSync(problem);
                enterResync();
                // the 47 bytes after the bad header's first byte may hold the next header
                data(bhs.clone(), 1, BHS_BYTES - 1);
                return take;
            }
            startPdu();
        }
        return take;
    }

    private void startPdu() {
        dataLength = u24(bhs, 5);
        int restBytes = (bhs[4] & 0xFF) * 4 + (headerDigest ? 4 : 0);
        rest = restBytes == 0 ? EMPTY : new byte[restBytes];
        restFill = 0;
        state = State.HEADER_REST;
        if (restBytes == 0) {
            headerDone();
        }
    }

    private int readHeaderRest(byte[] b, int at, int n) {
        int take = Math.min(n, rest.length - restFill);
        System.arraycopy(b, at, rest, restFill, take);
        restFill += take;
        if (restFill == rest.length) {
            headerDone();
        }
        return take;
    }

    private void headerDone() {
        int ahsBytes = rest.length - (headerDigest ? 4 : 0);
        if (headerDigest) {
            crc.reset();
            crc.update(bhs, 0, BHS_BYTES);
            crc.update(rest, 0, ahsBytes);
            if (!digestMatches(rest, ahsBytes)) {
                listener.lostSync("header digest: mismatch (expected: CRC32C of the header)");
                enterResync();
                return;
            }
        }
        int padded = (dataLength + 3) & ~3;
        lookahead = dataDigestUnsure && dataLength > 0 ? LOOKAHEAD_BYTES : 0;
        dataTotal = padded + (dataDigest && dataLength > 0 ? 4 : 0) + lookahead;
        placement.set(null, 0);
        placed = dataLength > 0 && listener.place(bhs, dataLength, placement) && placement.array != null
                && placement.offset >= 0 && placement.offset <= placement.array.length - dataLength;
        // placed: the segment goes to the listener's array, only padding and digest to data
        int kept = placed ? dataTotal - dataLength : dataTotal;
        data = kept == 0 ? EMPTY : new byte[kept];
        dataFill = 0;
        state = State.DATA;
        if (dataTotal == 0) {
            emit();
        }
    }

    private int readData(byte[] b, int at, int n) {
        int take;
        if (placed && dataFill < dataLength) {
            take = Math.min(n, dataLength - dataFill);
            System.arraycopy(b, at, placement.array, placement.offset + dataFill, take);
        } else {
            take = Math.min(n, dataTotal - dataFill);
            System.arraycopy(b, at, data, dataFill - (placed ? dataLength : 0), take);
        }
        dataFill += take;
        if (dataFill == dataTotal) {
            emit();
        }
        return take;
    }

    private void emit() {
        boolean damaged = false;
        int padded = (dataLength + 3) & ~3;
        int base = placed ? dataLength : 0; // data[] holds the stream from this offset of the segment on
        byte[] leftover = null;
        if (lookahead > 0) {
            dataDigest = decideDataDigest(padded - base);
            dataDigestUnsure = false;
            int next = padded + (dataDigest ? 4 : 0) - base;
            leftover = java.util.Arrays.copyOfRange(data, next, data.length);
            lookahead = 0;
        }
        if (dataDigest && dataLength > 0) {
            crc.reset();
            if (placed) {
                crc.update(placement.array, placement.offset, dataLength);
                crc.update(data, 0, padded - base);
            } else {
                crc.update(data, 0, padded);
            }
            damaged = !digestMatches(data, padded - base);
        }
        byte[] payload = placed || dataLength == 0 ? EMPTY
                : data.length == dataLength ? data : java.util.Arrays.copyOf(data, dataLength);
        byte[] ahs = rest.length == 0 ? rest : java.util.Arrays.copyOf(rest, rest.length - (headerDigest ? 4 : 0));
        IscsiPdu pdu = new IscsiPdu(bhs, ahs, payload, damaged, placed);
        bhs = new byte[BHS_BYTES];
        bhsFill = 0;
        data = null;
        placed = false;
        placement.set(null, 0);
        state = State.BHS;
        listener.pdu(pdu);
        if (leftover != null && leftover.length > 0) {
            data(leftover, 0, leftover.length); // the next header, read ahead
        }
    }

    /**
     * Whether a data digest follows the segment whose padding ends at {@code at} in {@code data}:
     * the next header, with its header digest, starts right there (no data digest) or 4 bytes on
     * (one). When neither or both are plausible, the data digest is taken to be on, as before.
     */
    private boolean decideDataDigest(int at) {
        boolean without = headerWithDigestAt(at);
        boolean with = headerWithDigestAt(at + 4);
        if (without && !with) {
            return false;
        }
        return true;
    }

    private boolean headerWithDigestAt(int at) {
        if (at < 0 || at + LOOKAHEAD_BYTES > data.length || problem(data, at, true) != null || data[at + 4] != 0) {
            return false;
        }
        crc.reset();
        crc.update(data, at, BHS_BYTES);
        return digestMatches(data, at + BHS_BYTES);
    }

    private void enterResync() {
        state = State.RESYNC;
        windowFill = 0;
        bhsFill = 0;
        data = null;
        placed = false;
        placement.set(null, 0);
    }

    private int resync(byte[] b, int at, int n) {
        int need = digestsKnown ? BHS_BYTES + (headerDigest ? 4 : 0) : BHS_BYTES + 4;
        int used = 0;
        while (used < n) {
            window[windowFill++] = b[at + used++];
            if (windowFill < need) {
                continue;
            }
            if (problem(window, 0, true) == null && digestVerdict(need)) {
                state = State.BHS;
                bhsFill = 0;
                byte[] replay = java.util.Arrays.copyOf(window, windowFill);
                windowFill = 0;
                data(replay, 0, replay.length);
                return used;
            }
            System.arraycopy(window, 1, window, 0, windowFill - 1);
            windowFill--;
            skippedBytes++;
        }
        return used;
    }

    /** With digests unknown: decides them from whether a CRC32C follows the candidate header. */
    private boolean digestVerdict(int need) {
        if (digestsKnown && !headerDigest) {
            return true;
        }
        if ((window[4] & 0xFF) != 0) {
            return !headerDigest;
        }
        crc.reset();
        crc.update(window, 0, BHS_BYTES);
        boolean match = digestMatches(window, BHS_BYTES);
        if (digestsKnown) {
            return match;
        }
        headerDigest = match;
        dataDigest = match;
        dataDigestUnsure = match; // decided by the first data segment (emit)
        return true;
    }

    /** Whether the 4 bytes at {@code at} hold the CRC32C just computed (either byte order is accepted). */
    private boolean digestMatches(byte[] b, int at) {
        int value = (int) crc.getValue();
        int stored = le32(b, at);
        return stored == value || Integer.reverseBytes(stored) == value;
    }

    /** Bytes skipped while scanning for a header, in total. */
    public long skippedBytes() {
        return skippedBytes;
    }

    /** Why the 48 bytes at {@code at} are not a header of this direction, or {@code null}. */
    String problem(byte[] h, int at, boolean strict) {
        int b0 = h[at] & 0xFF;
        IscsiOpcode op = IscsiOpcode.of(b0);
        if ((b0 & 0x80) != 0 || op == null || op.fromInitiator != fromInitiator || (!fromInitiator && (b0 & 0x40) != 0)) {
            return "opcode: 0x" + Integer.toHexString(b0) + " (expected: an " + (fromInitiator ? "initiator" : "target")
                    + " opcode, RFC 7143 §11.2.1.2)";
        }
        if (!strict) {
            return null;
        }
        int b1 = h[at + 1] & 0xFF;
        int b2 = h[at + 2] & 0xFF;
        int b3 = h[at + 3] & 0xFF;
        int ahs = h[at + 4] & 0xFF;
        int dsl = u24(h, at + 5);
        boolean ok = switch (op) {
            case DATA_OUT -> (b0 & 0x40) == 0 && (b1 & 0x7F) == 0 && b2 == 0 && b3 == 0 && ahs == 0
                    && zero(h, at + 24, 4) && zero(h, at + 32, 4) && zero(h, at + 44, 4);
            case SCSI_COMMAND -> (b1 & 0x18) == 0 && b2 == 0 && b3 == 0 && ahs <= 16;
            case NOP_OUT, TASK_MANAGEMENT_REQUEST, LOGOUT_REQUEST -> (b1 & 0x80) != 0 && b2 == 0 && b3 == 0 && ahs == 0;
            case SCSI_RESPONSE -> (b1 & 0x80) != 0 && (b1 & 0x61) == 0 && ahs == 0;
            case DATA_IN -> (b1 & 0x38) == 0 && b2 == 0 && ahs == 0;
            case R2T -> b1 == 0x80 && b2 == 0 && b3 == 0 && ahs == 0 && dsl == 0;
            case NOP_IN, TASK_MANAGEMENT_RESPONSE, LOGOUT_RESPONSE -> b1 == 0x80 && b3 == 0 && ahs == 0;
            default -> false;
        };
        if (!ok || dsl > RESYNC_MAX_DATA_BYTES) {
            return "header: implausible " + op;
        }
        return null;
    }

    private static boolean zero(byte[] h, int at, int n) {
        for (int i = 0; i < n; i++) {
            if (h[at + i] != 0) {
                return false;
            }
        }
        return true;
    }

    static int u24(byte[] b, int at) {
        return ((b[at] & 0xFF) << 16) | ((b[at + 1] & 0xFF) << 8) | (b[at + 2] & 0xFF);
    }

    /** CRC32C digests travel least significant byte first (RFC 7143 §13.1, as the iSCSI CRC is defined). */
    static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | ((b[at + 1] & 0xFF) << 8) | ((b[at + 2] & 0xFF) << 16) | ((b[at + 3] & 0xFF) << 24);
    }
}
