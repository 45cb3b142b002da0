package io.tapline.snoop.nbd;

import static io.tapline.nbd.NbdFlags.EXTENDED_REPLY_MAGIC;
import static io.tapline.nbd.NbdFlags.IHAVEOPT;
import static io.tapline.nbd.NbdFlags.NBDMAGIC;
import static io.tapline.nbd.NbdFlags.OLDSTYLE_MAGIC;
import static io.tapline.nbd.NbdFlags.OPTION_REPLY_MAGIC;
import static io.tapline.nbd.NbdFlags.SIMPLE_REPLY_MAGIC;
import static io.tapline.nbd.NbdFlags.STRUCTURED_REPLY_MAGIC;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import io.tapline.nbd.NbdInfoType;
import io.tapline.nbd.NbdOption;
import io.tapline.nbd.NbdOptionReplyType;
import io.tapline.snoop.tcp.StreamConsumer;

/**
 * Decodes the server-to-client direction of an NBD connection (NBD proto.md): the greeting
 * ({@code NBDMAGIC IHAVEOPT} and handshake flags; the oldstyle greeting with its size), option
 * replies (NBD_REP_ACK, NBD_REP_INFO with NBD_INFO_EXPORT size), the NBD_OPT_EXPORT_NAME reply,
 * and transmission replies: simple (with READ data when structured replies are off),
 * structured and extended-header chunks.
 *
 * <p>After a gap, or when the capture joined mid-connection, it scans for a reply magic whose
 * cookie belongs to an outstanding request. Not thread-safe: capture thread only.
 */
final class NbdReplyDecoder implements StreamConsumer {

    private enum State { GREETING, HANDSHAKE_FLAGS, OLDSTYLE, OPTION_MAGIC, OPTION_REPLY, OPTION_DATA, EXPORT_REST,
        REPLY_MAGIC, SIMPLE, CHUNK, SKIP, RESYNC }

    private final NbdConnection connection;
    private final Fill field = new Fill();
    private State state = State.GREETING;
    private int replyOption;
    private int replyType;
    private long skipRemaining;
    private final byte[] window = new byte[16];
    private int windowFill;

    NbdReplyDecoder(NbdConnection connection) {
        this.connection = connection;
        field.reset(16);
    }

    void startMidStream() {
        enterResync();
    }

    @Override
    public void data(byte[] b, int offset, int length) {
        int at = offset;
        int end = offset + length;
        while (at < end) {
            if (state == State.SKIP) {
                at += skip(end - at);
                continue;
            }
            if (state == State.RESYNC) {
                at += resync(b, at, end - at);
                continue;
            }
            at += field.take(b, at, end - at);
            if (field.full()) {
                fieldDone();
            }
        }
    }

    @Override
    public void gap(long lengthBytes) {
        connection.lost("server stream gap: " + lengthBytes + " bytes");
        enterResync();
    }

    @Override
    public void end() {
        connection.ended();
    }

    private void expect(State next, int bytes) {
        state = next;
        field.reset(bytes);
        if (bytes == 0) {
            fieldDone();
        }
    }

    private void fieldDone() {
        switch (state) {
            case GREETING -> greeting();
            case HANDSHAKE_FLAGS -> expect(State.OPTION_MAGIC, 8);
            case OLDSTYLE -> {
                connection.exportSize(field.u64(0));
                expect(State.REPLY_MAGIC, 4);
            }
            case OPTION_MAGIC -> optionMagic();
            case OPTION_REPLY -> optionReply();
            case OPTION_DATA -> optionData();
            case EXPORT_REST -> expect(State.REPLY_MAGIC, 4);
            case REPLY_MAGIC -> replyMagic();
            case SIMPLE -> simple();
            case CHUNK -> chunk();
            default -> throw new IllegalStateException("state: " + state);
        }
    }

    private void greeting() {
        if (field.u64(0) != NBDMAGIC) {
            connection.lost("server greeting: 0x" + Long.toHexString(field.u64(0)) + " (expected: NBDMAGIC)");
            enterResync();
        } else if (field.u64(8) == IHAVEOPT) {
            expect(State.HANDSHAKE_FLAGS, 2);
        } else if (field.u64(8) == OLDSTYLE_MAGIC) {
            expect(State.OLDSTYLE, 8 + 4 + 124);
        } else {
            connection.lost("server greeting magic: 0x" + Long.toHexString(field.u64(8))
                    + " (expected: IHAVEOPT or the oldstyle magic)");
            enterResync();
        }
    }

    private void optionMagic() {
        long magic = field.u64(0);
        if (magic == OPTION_REPLY_MAGIC) {
            expect(State.OPTION_REPLY, 12);
        } else if (connection.exportNameSent()) {
            // NBD_OPT_EXPORT_NAME is answered with size, flags and (unless NO_ZEROES) 124 zeroes.
            connection.exportSize(magic);
            connection.transmission();
            expect(State.EXPORT_REST, 2 + (connection.noZeroes() ? 0 : 124));
        } else {
            connection.lost("option reply magic: 0x" + Long.toHexString(magic) + " (expected: 0x3e889045565a9)");
            enterResync();
        }
    }

    private void optionReply() {
        replyOption = (int) field.u32(0);
        replyType = (int) field.u32(4);
        long length = field.u32(8);
        if (length > 65536) {
            connection.lost("option reply length: " + length + " (expected: <= 65536)");
            enterResync();
            return;
        }
        expect(State.OPTION_DATA, (int) length);
    }

    private void optionData() {
        if (replyType == NbdOptionReplyType.INFO.wireValue() && field.bytes.length >= 12
                && field.u16(0) == NbdInfoType.EXPORT.wireValue()) {
            connection.exportSize(field.u64(2));
        }
        if (replyType == NbdOptionReplyType.ACK.wireValue()) {
            connection.optionAcknowledged(replyOption);
            if (replyOption == NbdOption.GO.wireValue()) {
                connection.transmission();
                expect(State.REPLY_MAGIC, 4);
                return;
            }
        }
        expect(State.OPTION_MAGIC, 8);
    }

    private void replyMagic() {
        int magic = (int) field.u32(0);
        switch (magic) {
            case SIMPLE_REPLY_MAGIC -> expect(State.SIMPLE, 12);
            case STRUCTURED_REPLY_MAGIC -> expect(State.CHUNK, 16);
            case EXTENDED_REPLY_MAGIC -> expect(State.CHUNK, 28);
            default -> {
                connection.lost("reply magic: 0x" + Integer.toHexString(magic)
                        + " (expected: 0x67446698, 0x668e33ef or 0x6e8a278c)");
                enterResync();
            }
        }
        chunkExtended = magic == EXTENDED_REPLY_MAGIC;
    }

    private boolean chunkExtended;

    private void simple() {
        long error = field.u32(0);
        long cookie = field.u64(4);
        NbdRequest r = connection.simpleReply(cookie, error);
        if (r != null && r.command() == NbdCommand.READ && error == 0 && !connection.structuredReplies()
                && r.lengthBytes() > 0) {
            skipRemaining = r.lengthBytes();
            state = State.SKIP;
            return;
        }
        expect(State.REPLY_MAGIC, 4);
    }

    private void chunk() {
        int flags = field.u16(0);
        int type = field.u16(2);
        long cookie = field.u64(4);
        long length = chunkExtended ? field.u64(20) : field.u32(12);
        connection.chunk(cookie, type, (flags & NbdFlags.REPLY_FLAG_DONE) != 0);
        if (length > 0) {
            skipRemaining = length;
            state = State.SKIP;
            return;
        }
        expect(State.REPLY_MAGIC, 4);
    }

    private int skip(int n) {
        int k = (int) Math.min(n, skipRemaining);
        skipRemaining -= k;
        if (skipRemaining == 0) {
            expect(State.REPLY_MAGIC, 4);
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
            if (windowFill < 16) {
                continue;
            }
            int magic = ((window[0] & 0xFF) << 24) | ((window[1] & 0xFF) << 16) | ((window[2] & 0xFF) << 8)
                    | (window[3] & 0xFF);
            long cookieSimple = u64(window, 8);
            long cookieChunk = u64(window, 8);
            boolean plausible = (magic == SIMPLE_REPLY_MAGIC && connection.outstanding(cookieSimple))
                    || ((magic == STRUCTURED_REPLY_MAGIC || magic == EXTENDED_REPLY_MAGIC)
                            && connection.outstanding(cookieChunk));
            if (plausible) {
                byte[] replay = java.util.Arrays.copyOf(window, windowFill);
                windowFill = 0;
                expect(State.REPLY_MAGIC, 4);
                data(replay, 0, replay.length);
                return used;
            }
            System.arraycopy(window, 1, window, 0, windowFill - 1);
            windowFill--;
        }
        return used;
    }

    private static long u64(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }
}
