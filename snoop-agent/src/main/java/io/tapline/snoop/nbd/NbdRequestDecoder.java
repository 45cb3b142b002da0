package io.tapline.snoop.nbd;

import static io.tapline.nbd.NbdFlags.EXTENDED_REQUEST_MAGIC;
import static io.tapline.nbd.NbdFlags.REQUEST_MAGIC;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import io.tapline.nbd.NbdOption;
import io.tapline.snoop.tcp.StreamConsumer;
import java.nio.charset.StandardCharsets;

/**
 * Decodes the client-to-server direction of an NBD connection (NBD proto.md): the client flags
 * of the fixed newstyle handshake, option haggling ({@code IHAVEOPT} option headers, the
 * export name of NBD_OPT_EXPORT_NAME / NBD_OPT_GO / NBD_OPT_INFO) and transmission requests,
 * compact (28 bytes) or extended (32 bytes, when NBD_OPT_EXTENDED_HEADERS was negotiated), with
 * the WRITE payload.
 *
 * <p>Options and requests are told apart by their magic, so the decoder needs no help from the
 * server direction. After a gap, or when the capture joined mid-connection, it scans for a
 * request magic followed by a plausible type and flags. Not thread-safe: capture thread only.
 */
final class NbdRequestDecoder implements StreamConsumer {
    static final int IHAVEOPT_HIGH = (int) (NbdFlags.IHAVEOPT >>> 32); // "IHAV"
    private static final long MAX_PAYLOAD_BYTES = 256L << 20;

    private enum State { CLIENT_FLAGS, MAGIC, OPTION_HEADER, OPTION_DATA, REQUEST_HEADER, PAYLOAD, SKIP, RESYNC }

    private final NbdConnection connection;
    private final Fill field = new Fill();
    private State state = State.CLIENT_FLAGS;
    private int option;
    private boolean extended;
    private long headerMagic;
    private long skipRemaining;
    private NbdRequest pendingWrite;
    private final byte[] window = new byte[32];
    private int windowFill;

    NbdRequestDecoder(NbdConnection connection) {
        this.connection = connection;
        field.reset(4);
    }

    void startMidStream() {
        enterResync();
    }

    @Override
    public void data(byte[] b, int offset, int length) {
        int at = offset;
        int end = offset + length;
        while (at < end) {
            at += switch (state) {
                case CLIENT_FLAGS -> clientFlags(b, at, end - at);
                case MAGIC -> magic(b, at, end - at);
                case OPTION_HEADER -> optionHeader(b, at, end - at);
                case OPTION_DATA -> optionData(b, at, end - at);
                case REQUEST_HEADER -> requestHeader(b, at, end - at);
                case PAYLOAD -> payload(b, at, end - at);
                case SKIP -> skip(end - at);
                case RESYNC -> resync(b, at, end - at);
            };
        }
    }

    @Override
    public void gap(long lengthBytes) {
        connection.lost("client stream gap: " + lengthBytes + " bytes");
        writeCutShort();
        enterResync();
    }

    @Override
    public void end() {
        writeCutShort(); // the capture ended inside a write's payload
        connection.clientEnded();
    }

    /** A write whose payload was not all seen is still a request: a GAP over its range, never dropped. */
    private void writeCutShort() {
        if (state == State.PAYLOAD && pendingWrite != null) {
            connection.request(new NbdRequest(pendingWrite.cookie(), pendingWrite.type(), pendingWrite.flags(),
                    pendingWrite.offsetBytes(), pendingWrite.lengthBytes(), null));
            pendingWrite = null;
        }
    }

    private int clientFlags(byte[] b, int at, int n) {
        int k = field.take(b, at, n);
        if (field.full()) {
            connection.clientFlags((int) field.u32(0));
            expectMagic();
        }
        return k;
    }

    private void expectMagic() {
        field.reset(4);
        state = State.MAGIC;
    }

    private int magic(byte[] b, int at, int n) {
        int k = field.take(b, at, n);
        if (field.full()) {
            int magic = (int) field.u32(0);
            if (magic == REQUEST_MAGIC || magic == EXTENDED_REQUEST_MAGIC) {
                extended = magic == EXTENDED_REQUEST_MAGIC;
                headerMagic = magic;
                field.reset(extended ? 28 : 24);
                state = State.REQUEST_HEADER;
            } else if (magic == IHAVEOPT_HIGH) {
                field.reset(12);
                state = State.OPTION_HEADER;
            } else {
                connection.lost("client message magic: 0x" + Integer.toHexString(magic)
                        + " (expected: IHAVEOPT, 0x25609513 or 0x21e41c71)");
                enterResync();
            }
        }
        return k;
    }

    private int optionHeader(byte[] b, int at, int n) {
        int k = field.take(b, at, n);
        if (field.full()) {
            option = (int) field.u32(4);
            long length = field.u32(8);
            if (length > 65536) {
                connection.lost("option length: " + length + " (expected: <= 65536)");
                enterResync();
                return k;
            }
            field.reset((int) length);
            state = State.OPTION_DATA;
            if (length == 0) {
                optionDone();
            }
        }
        return k;
    }

    private int optionData(byte[] b, int at, int n) {
        int k = field.take(b, at, n);
        if (field.full()) {
            optionDone();
        }
        return k;
    }

    private void optionDone() {
        byte[] d = field.bytes;
        NbdOption known = NbdOption.fromWireValue(option);
        if (known == NbdOption.EXPORT_NAME) {
            connection.exportName(new String(d, StandardCharsets.UTF_8), true);
        } else if ((known == NbdOption.INFO || known == NbdOption.GO) && d.length >= 4) {
            long nameLength = Math.min(((d[0] & 0xFFL) << 24) | ((d[1] & 0xFF) << 16) | ((d[2] & 0xFF) << 8)
                    | (d[3] & 0xFF), d.length - 4L);
            connection.exportName(new String(d, 4, (int) nameLength, StandardCharsets.UTF_8), false);
        }
        // other options (and values NBD does not name) change nothing the decoders need until the server accepts them
        connection.optionSent(option);
        expectMagic();
    }

    private int requestHeader(byte[] b, int at, int n) {
        int k = field.take(b, at, n);
        if (field.full()) {
            int flags = field.u16(0);
            int type = field.u16(2);
            long cookie = field.u64(4);
            long offset = field.u64(12);
            long length = extended ? field.u64(20) : field.u32(20);
            requestDone(new NbdRequest(cookie, type, flags, offset, length, null));
        }
        return k;
    }

    private void requestDone(NbdRequest r) {
        if (r.command() == NbdCommand.WRITE && r.lengthBytes() > 0) {
            if (r.lengthBytes() <= MAX_PAYLOAD_BYTES) {
                pendingWrite = r;
                field.reset((int) r.lengthBytes());
                state = State.PAYLOAD;
            } else {
                connection.request(r);
                skipRemaining = r.lengthBytes();
                state = State.SKIP;
            }
            return;
        }
        connection.request(r);
        expectMagic();
    }

    private int payload(byte[] b, int at, int n) {
        int k = field.take(b, at, n);
        if (field.full()) {
            NbdRequest r = pendingWrite;
            pendingWrite = null;
            connection.request(new NbdRequest(r.cookie(), r.type(), r.flags(), r.offsetBytes(), r.lengthBytes(),
                    field.bytes));
            expectMagic();
        }
        return k;
    }

    private int skip(int n) {
        int k = (int) Math.min(n, skipRemaining);
        skipRemaining -= k;
        if (skipRemaining == 0) {
            expectMagic();
        }
        return k;
    }

    private void enterResync() {
        state = State.RESYNC;
        windowFill = 0;
    }

    private int resync(byte[] b, int at, int n) {
        int used = 0;
        while (used < n) {
            window[windowFill++] = b[at + used++];
            if (windowFill < 28) {
                continue;
            }
            int magic = i32(window, 0);
            int flags = ((window[4] & 0xFF) << 8) | (window[5] & 0xFF);
            int type = ((window[6] & 0xFF) << 8) | (window[7] & 0xFF);
            boolean plausible = (magic == REQUEST_MAGIC || magic == EXTENDED_REQUEST_MAGIC) && flags <= 0x7F
                    && NbdCommand.fromWireValue(type) != null;
            if (plausible && (magic == REQUEST_MAGIC || windowFill == 32)) {
                byte[] replay = java.util.Arrays.copyOf(window, windowFill);
                windowFill = 0;
                expectMagic();
                data(replay, 0, replay.length);
                return used;
            }
            if (plausible) {
                continue; // extended header: wait for its last 4 bytes
            }
            System.arraycopy(window, 1, window, 0, windowFill - 1);
            windowFill--;
        }
        return used;
    }

    private static int i32(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }
}
