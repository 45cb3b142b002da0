package io.tapline.snoop.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import io.tapline.nbd.NbdOption;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.snoop.RecordingSink;
import io.tapline.snoop.tcp.StreamConsumer;
import io.tapline.snoop.volume.VolumeKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The NBD decoder fed one byte at a time from a newstyle fixed handshake (NBD_OPT_EXPORT_NAME)
 * through transmission: commits on error 0 only, matched by cookie, in reply order.
 */
class NbdConnectionTest {
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final long SIZE = 1L << 20;
    private static final VolumeKey VOLUME = VolumeKey.nbd("127.0.0.1:10809", "disk");

    private final RecordingSink sink = new RecordingSink();
    private final NbdConnection conn = new NbdConnection("127.0.0.1:50000", "127.0.0.1:10809", sink);

    private static void byteByByte(StreamConsumer c, byte[] bytes) {
        for (byte b : bytes) {
            c.data(new byte[] {b}, 0, 1);
        }
    }

    private void handshake() {
        handshake(conn);
    }

    private static void handshake(NbdConnection conn) {
        byteByByte(conn.serverStream(), ByteBuffer.allocate(18).putLong(0x4e42444d41474943L).putLong(IHAVEOPT)
                .putShort((short) 3).array());
        byte[] name = "disk".getBytes(StandardCharsets.UTF_8);
        byteByByte(conn.clientStream(), ByteBuffer.allocate(4 + 16 + name.length).putInt(3).putLong(IHAVEOPT)
                .putInt(NbdOption.EXPORT_NAME.wireValue()).putInt(name.length).put(name).array());
        byteByByte(conn.serverStream(), ByteBuffer.allocate(10).putLong(SIZE).putShort((short) 0x1ff).array());
    }

    private void request(int flags, int type, long cookie, long offset, int length, byte[] data) {
        request(conn, flags, type, cookie, offset, length, data);
    }

    private static void request(NbdConnection conn, int flags, int type, long cookie, long offset, int length,
            byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(28 + (data == null ? 0 : data.length)).putInt(REQUEST_MAGIC)
                .putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset).putInt(length);
        if (data != null) {
            b.put(data);
        }
        byteByByte(conn.clientStream(), b.array());
    }

    private void simpleReply(long cookie, int error) {
        simpleReply(conn, cookie, error);
    }

    private static void simpleReply(NbdConnection conn, long cookie, int error) {
        byteByByte(conn.serverStream(), ByteBuffer.allocate(16).putInt(0x67446698).putInt(error).putLong(cookie).array());
    }

    private void chunk(int flags, int type, long cookie, byte[] payload) {
        byteByByte(conn.serverStream(), ByteBuffer.allocate(20 + payload.length).putInt(0x668e33ef)
                .putShort((short) flags).putShort((short) type).putLong(cookie).putInt(payload.length).put(payload)
                .array());
    }

    @Test
    void handshakeGivesTheVolumeAndItsSize() {
        handshake();
        request(0, NbdCommand.FLUSH.wireValue(), 1, 0, 0, null);
        assertEquals("GEOMETRY", sink.events.get(0).kind());
        assertEquals(VOLUME, sink.events.get(0).volume());
        assertEquals(SIZE, sink.events.get(0).offsetBytes());
    }

    @Test
    void writesCommitInReplyOrderMatchedByCookie() {
        handshake();
        byte[] a = new byte[512];
        java.util.Arrays.fill(a, (byte) 'a');
        byte[] b = new byte[1024];
        java.util.Arrays.fill(b, (byte) 'b');
        request(NbdFlags.CMD_FLAG_FUA, NbdCommand.WRITE.wireValue(), 0x11, 4096, a.length, a);
        request(0, NbdCommand.WRITE.wireValue(), 0x22, 0, b.length, b);
        simpleReply(0x22, 0);
        simpleReply(0x11, 0);
        List<RecordingSink.Event> writes = sink.of("WRITE");
        assertEquals(2, writes.size());
        assertEquals(0, writes.get(0).offsetBytes());
        assertArrayEquals(b, writes.get(0).payload());
        assertEquals(4096, writes.get(1).offsetBytes());
        assertEquals(CaptureRecord.FLAG_FUA, writes.get(1).flags() & CaptureRecord.FLAG_FUA);
        assertArrayEquals(a, writes.get(1).payload());
    }

    @Test
    void overlappingWritesInFlightTogetherLeaveAGapOverTheOverlap() {
        handshake();
        byte[] a = new byte[8192];
        byte[] b = new byte[8192];
        java.util.Arrays.fill(b, (byte) 'b');
        request(0, NbdCommand.WRITE.wireValue(), 0x11, 0, a.length, a); // 0..8K
        request(0, NbdCommand.TRIM.wireValue(), 0x22, 4096, 8192, null); // 4K..12K, in flight with 0x11
        simpleReply(0x11, 0);
        request(0, NbdCommand.WRITE.wireValue(), 0x33, 8192, b.length, b); // 8K..16K, in flight with 0x22 only
        simpleReply(0x33, 0);
        simpleReply(0x22, 0);
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(2, gaps.size(), sink.events.toString());
        assertEquals(4096, gaps.get(0).offsetBytes(), "0x11 with 0x22, when 0x22 ends");
        assertEquals(4096, gaps.get(0).lengthBytes());
        assertEquals(8192, gaps.get(1).offsetBytes(), "0x33 with 0x22");
        assertEquals(4096, gaps.get(1).lengthBytes());
        assertEquals("GAP", sink.events.get(sink.events.size() - 1).kind(), "after the records");
    }

    @Test
    void overlappingWritesOfTwoConnectionsInFlightTogetherLeaveAGap() {
        // Two connections of one export (NBD multi-conn, two hosts): the server may order their writes
        // as it likes, as for one connection's (probe R D1: nbdkit applied a WRITE_ZEROES before a
        // WRITE of another connection that it answered first).
        io.tapline.snoop.volume.ConcurrentOverlaps shared = new io.tapline.snoop.volume.ConcurrentOverlaps(sink::gap,
                id -> "#" + id);
        NbdConnection one = new NbdConnection("127.0.0.1:50001", "127.0.0.1:10809", sink, shared);
        NbdConnection two = new NbdConnection("127.0.0.1:50002", "127.0.0.1:10809", sink, shared);
        handshake(one);
        handshake(two);
        byte[] a = new byte[8192];
        java.util.Arrays.fill(a, (byte) 'a');
        request(one, 0, NbdCommand.WRITE.wireValue(), 1, 0, a.length, a); // 0..8K
        request(two, 0, NbdCommand.WRITE_ZEROES.wireValue(), 1, 4096, 8192, null); // 4K..12K, same cookie, other conn
        simpleReply(two, 1, 0);
        simpleReply(one, 1, 0);
        request(two, 0, NbdCommand.TRIM.wireValue(), 2, 0, 4096, null); // after both replies: ordered
        simpleReply(two, 2, 0);
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(1, gaps.size(), sink.events.toString());
        assertEquals(4096, gaps.get(0).offsetBytes());
        assertEquals(4096, gaps.get(0).lengthBytes());
        String reason = sink.gapReasons.get(0);
        assertTrue(reason.contains("conn=127.0.0.1:50001") && reason.contains("conn=127.0.0.1:50002"), reason);
    }

    @Test
    void errorReplyIsNotCommitted() {
        handshake();
        request(0, NbdCommand.WRITE.wireValue(), 7, 0, 4, new byte[] {1, 2, 3, 4});
        simpleReply(7, 5); // EIO
        request(0, NbdCommand.TRIM.wireValue(), 8, 0, 4096, null);
        simpleReply(8, 28); // ENOSPC
        assertEquals(List.of(), sink.of("WRITE"));
        assertEquals(List.of(), sink.of("DISCARD"));
    }

    @Test
    void unansweredRequestIsNotCommitted() {
        handshake();
        request(0, NbdCommand.WRITE.wireValue(), 9, 0, 4, new byte[] {1, 2, 3, 4});
        conn.clientStream().end();
        conn.serverStream().end();
        assertEquals(List.of(), sink.of("WRITE"));
    }

    @Test
    void errorReplyToAWriteMarksItsRangeAsAGap() {
        handshake();
        request(0, NbdCommand.WRITE.wireValue(), 7, 512, 4, new byte[] {1, 2, 3, 4});
        simpleReply(7, 5); // EIO: the server may have written part of it
        request(0, NbdCommand.TRIM.wireValue(), 8, 8192, 4096, null);
        simpleReply(8, 28); // ENOSPC
        request(0, NbdCommand.WRITE_ZEROES.wireValue(), 9, 65536, 1024, null);
        chunk(0, 0x8001, 9, ByteBuffer.allocate(6).putInt(5).putShort((short) 0).array());
        chunk(1, 0, 9, new byte[0]);
        request(0, NbdCommand.FLUSH.wireValue(), 10, 0, 0, null);
        simpleReply(10, 5); // a failed flush changes no data: nothing to mark
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(3, gaps.size(), gaps.toString());
        assertEquals(512, gaps.get(0).offsetBytes());
        assertEquals(4, gaps.get(0).lengthBytes());
        assertEquals(8192, gaps.get(1).offsetBytes());
        assertEquals(4096, gaps.get(1).lengthBytes());
        assertEquals(65536, gaps.get(2).offsetBytes());
        assertEquals(1024, gaps.get(2).lengthBytes());
    }

    @Test
    void aCookieReusedBeforeTheEarlierReplyShowsAnswersItsRequestsInOrder() {
        handshake();
        byte[] a = new byte[4096];
        java.util.Arrays.fill(a, (byte) 'a');
        byte[] b = new byte[2048];
        java.util.Arrays.fill(b, (byte) 'b');
        // qemu reuses one cookie; the capture shows the next request before the earlier reply
        request(0, NbdCommand.WRITE.wireValue(), 5, 0, a.length, a);
        request(0, NbdCommand.WRITE.wireValue(), 5, 2048, b.length, b); // overlapping, but after the first's reply
        simpleReply(5, 0);
        simpleReply(5, 0);
        List<RecordingSink.Event> writes = sink.of("WRITE");
        assertEquals(2, writes.size(), sink.events.toString());
        assertEquals(0, writes.get(0).offsetBytes());
        assertArrayEquals(a, writes.get(0).payload());
        assertEquals(2048, writes.get(1).offsetBytes());
        assertArrayEquals(b, writes.get(1).payload());
        assertEquals(List.of(), sink.of("GAP"), "a reused cookie proves the first had ended: no overlap in flight");
    }

    @Test
    void aReplyBeforeItsWritesLastBytesCommitsTheWriteOnceItsPayloadEnds() {
        handshake();
        byte[] a = new byte[4096];
        java.util.Arrays.fill(a, (byte) 'a');
        byte[] header = ByteBuffer.allocate(28).putInt(REQUEST_MAGIC).putShort((short) 0)
                .putShort((short) NbdCommand.WRITE.wireValue()).putLong(3).putLong(8192).putInt(a.length).array();
        byteByByte(conn.clientStream(), header);
        byteByByte(conn.clientStream(), java.util.Arrays.copyOf(a, 1000));
        simpleReply(3, 0); // the server's direction ahead of the client's in the capture
        assertEquals(List.of(), sink.of("WRITE"));
        byteByByte(conn.clientStream(), java.util.Arrays.copyOfRange(a, 1000, a.length));
        List<RecordingSink.Event> writes = sink.of("WRITE");
        assertEquals(1, writes.size(), sink.events.toString());
        assertArrayEquals(a, writes.get(0).payload());
        conn.clientStream().end();
        conn.serverStream().end();
        assertEquals(List.of(), sink.of("GAP"));
    }

    @Test
    void aWriteWhosePayloadTheCaptureCutShortIsAGapWhetherOrNotItsReplyShowed() {
        handshake();
        byte[] header = ByteBuffer.allocate(28).putInt(REQUEST_MAGIC).putShort((short) 0)
                .putShort((short) NbdCommand.WRITE.wireValue()).putLong(3).putLong(8192).putInt(4096).array();
        byteByByte(conn.clientStream(), header);
        byteByByte(conn.clientStream(), new byte[1000]);
        simpleReply(3, 0);
        conn.clientStream().end(); // the capture file ends inside the payload
        conn.serverStream().end();
        assertEquals(List.of(), sink.of("WRITE"));
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(1, gaps.size(), sink.events.toString());
        assertEquals(8192, gaps.get(0).offsetBytes());
        assertEquals(4096, gaps.get(0).lengthBytes());
    }

    @Test
    void aReplyToARequestNeverCapturedIsAWholeVolumeGap() {
        handshake();
        request(0, NbdCommand.FLUSH.wireValue(), 1, 0, 0, null);
        simpleReply(1, 0);
        simpleReply(77, 0); // its request was never seen
        conn.serverStream().end();
        assertEquals(List.of(), sink.of("GAP"), "the client's direction may still show it");
        conn.clientStream().end();
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(1, gaps.size(), sink.events.toString());
        assertEquals(0, gaps.get(0).offsetBytes());
        assertEquals(io.tapline.snoop.volume.SnoopSink.WHOLE_VOLUME, gaps.get(0).lengthBytes());
    }

    @Test
    void writeNeverAnsweredBecomesAGapOnceAtConnectionEnd() {
        handshake();
        request(0, NbdCommand.WRITE.wireValue(), 9, 4096, 4, new byte[] {1, 2, 3, 4});
        request(0, NbdCommand.READ.wireValue(), 10, 0, 4, null);
        conn.clientStream().end();
        conn.serverStream().end();
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(1, gaps.size(), gaps.toString());
        assertEquals(4096, gaps.get(0).offsetBytes());
        assertEquals(4, gaps.get(0).lengthBytes());
    }

    @Test
    void trimZeroesAndFlushBecomeTheirRecordKinds() {
        handshake();
        request(0, NbdCommand.TRIM.wireValue(), 1, 8192, 4096, null);
        request(NbdFlags.CMD_FLAG_NO_HOLE, NbdCommand.WRITE_ZEROES.wireValue(), 2, 0, 8192, null);
        request(0, NbdCommand.FLUSH.wireValue(), 3, 0, 0, null);
        simpleReply(1, 0);
        simpleReply(2, 0);
        simpleReply(3, 0);
        assertEquals(8192, sink.of("DISCARD").get(0).offsetBytes());
        assertEquals(CaptureRecord.FLAG_NO_HOLE, sink.of("WRITE_ZEROES").get(0).flags() & CaptureRecord.FLAG_NO_HOLE);
        assertEquals(1, sink.of("FLUSH").size());
    }

    @Test
    void structuredReplyCommitsOnDoneAndNotAfterAnErrorChunk() {
        handshake();
        request(0, NbdCommand.WRITE.wireValue(), 1, 0, 2, new byte[] {9, 9});
        request(0, NbdCommand.WRITE.wireValue(), 2, 2, 2, new byte[] {8, 8});
        chunk(1, 0, 1, new byte[0]); // NBD_REPLY_TYPE_NONE, DONE
        byte[] error = ByteBuffer.allocate(6).putInt(5).putShort((short) 0).array();
        chunk(0, 0x8001, 2, error); // NBD_REPLY_TYPE_ERROR, not done
        chunk(1, 0, 2, new byte[0]);
        List<RecordingSink.Event> writes = sink.of("WRITE");
        assertEquals(1, writes.size());
        assertEquals(0, writes.get(0).offsetBytes());
    }

    @Test
    void readIsCountedNotStored() {
        handshake();
        request(0, NbdCommand.READ.wireValue(), 4, 0, 4, null);
        byteByByte(conn.serverStream(), ByteBuffer.allocate(20).putInt(0x67446698).putInt(0).putLong(4)
                .putInt(0x01020304).array());
        request(0, NbdCommand.FLUSH.wireValue(), 5, 0, 0, null);
        simpleReply(5, 0);
        assertEquals(1, sink.of("READ").size());
        assertEquals(List.of(), sink.of("WRITE"));
        assertEquals(1, sink.of("FLUSH").size(), "the read's payload was skipped, framing kept");
        assertEquals(List.of(), sink.of("GAP"));
    }
}
