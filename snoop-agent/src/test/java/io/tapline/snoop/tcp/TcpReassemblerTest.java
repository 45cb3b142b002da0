package io.tapline.snoop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TcpReassemblerTest {
    private static final FlowKey FLOW = new FlowKey(FlowKey.IPV4_MARK, 0x7F000001L, 40000, FlowKey.IPV4_MARK,
            0x7F000001L, 3260);

    /** Remembers the stream: bytes, gaps (as "gap N" markers) and the end. */
    private static final class Stream implements StreamConsumer {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<String> events = new ArrayList<>();
        boolean ended;

        @Override
        public void data(byte[] b, int offset, int length) {
            bytes.write(b, offset, length);
            events.add("data " + length);
        }

        @Override
        public void gap(long lengthBytes) {
            events.add("gap " + lengthBytes);
        }

        @Override
        public void end() {
            ended = true;
        }
    }

    private static TcpSegment seg(long seq, int flags, String payload) {
        byte[] data = payload.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        return new TcpSegment(FLOW, seq & 0xFFFF_FFFFL, flags, data, 0, data.length, data.length, 0);
    }

    private static final int ISN = 1000;

    private static TcpReassembler started(Stream s) {
        TcpReassembler r = new TcpReassembler(s, 65536);
        r.segment(seg(ISN, TcpSegment.SYN, ""));
        return r;
    }

    @Test
    void outOfOrderSegmentsAreDeliveredInOrder() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1 + 6, TcpSegment.ACK, "world"));
        assertEquals(0, s.bytes.size(), "held until the hole fills");
        r.segment(seg(ISN + 1, TcpSegment.ACK, "hello "));
        assertEquals("hello world", s.bytes.toString());
        assertEquals(0, r.gapBytes());
    }

    @Test
    void retransmissionIsDeliveredOnce() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1, TcpSegment.ACK, "abc"));
        r.segment(seg(ISN + 1, TcpSegment.ACK, "abc"));
        r.segment(seg(ISN + 4, TcpSegment.ACK, "def"));
        assertEquals("abcdef", s.bytes.toString());
    }

    @Test
    void overlappingSegmentKeepsTheFirstCopyAndAddsOnlyNewBytes() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1, TcpSegment.ACK, "abcd"));
        r.segment(seg(ISN + 3, TcpSegment.ACK, "XXef"));
        assertEquals("abcdef", s.bytes.toString());
    }

    @Test
    void holeNeverFilledBecomesAGapAtFinish() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1, TcpSegment.ACK, "ab"));
        r.segment(seg(ISN + 1 + 5, TcpSegment.ACK, "fg"));
        r.finish();
        assertEquals(List.of("data 2", "gap 3", "data 2"), s.events);
        assertEquals(3, r.gapBytes());
        assertTrue(s.ended);
    }

    @Test
    void holeBeyondThePendingBoundIsGivenUpAsAGap() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        String chunk = "x".repeat(40000);
        r.segment(seg(ISN + 1 + 10, TcpSegment.ACK, chunk));
        r.segment(seg(ISN + 1 + 10 + 40000, TcpSegment.ACK, chunk));
        assertEquals(List.of("gap 10", "data 40000", "data 40000"), s.events);
        assertEquals(10, r.gapBytes());
    }

    @Test
    void finEndsTheStreamOnlyAfterEveryEarlierByte() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1 + 3, TcpSegment.ACK | TcpSegment.FIN, "def"));
        assertTrue(!s.ended, "bytes before the FIN are missing");
        r.segment(seg(ISN + 1, TcpSegment.ACK, "abc"));
        assertEquals("abcdef", s.bytes.toString());
        assertTrue(s.ended && r.ended());
    }

    @Test
    void bytesBeforeAFinNeverCapturedAreAGapAtFinish() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1, TcpSegment.ACK, "ab"));
        r.segment(seg(ISN + 1 + 6, TcpSegment.ACK | TcpSegment.FIN, "")); // "cdef" sent, never captured
        assertTrue(!s.ended, "the missing bytes may still come");
        r.finish();
        assertEquals(List.of("data 2", "gap 4"), s.events);
        assertEquals(4, r.gapBytes());
        assertTrue(s.ended);
    }

    @Test
    void rstEndsTheStreamAndReportsHeldHolesAsGaps() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        r.segment(seg(ISN + 1 + 4, TcpSegment.ACK, "zz"));
        r.segment(seg(ISN + 1 + 6, TcpSegment.RST, ""));
        assertEquals(List.of("gap 4", "data 2"), s.events);
        assertTrue(s.ended);
        r.segment(seg(ISN + 1, TcpSegment.ACK, "late"));
        assertEquals(2, s.bytes.size(), "nothing after the end");
    }

    @Test
    void sequenceNumbersWrapAround() {
        Stream s = new Stream();
        TcpReassembler r = new TcpReassembler(s, 65536);
        r.segment(seg(0xFFFF_FFFEL, TcpSegment.SYN, ""));
        r.segment(seg(0xFFFF_FFFFL, TcpSegment.ACK, "ab"));
        r.segment(seg(1, TcpSegment.ACK, "cd"));
        assertEquals("abcd", s.bytes.toString());
    }

    @Test
    void snaplenCutSegmentReportsTheMissingTailAsAGap() {
        Stream s = new Stream();
        TcpReassembler r = started(s);
        byte[] data = "abcdef".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        r.segment(new TcpSegment(FLOW, ISN + 1, TcpSegment.ACK, data, 0, 4, 10, 0));
        assertEquals(List.of("data 4", "gap 6"), s.events);
    }

    @Test
    void joinedMidStreamStartsAtTheFirstSegmentSeen() {
        Stream s = new Stream();
        TcpReassembler r = new TcpReassembler(s, 65536);
        r.segment(seg(5000, TcpSegment.ACK, "mid"));
        assertTrue(r.midStream());
        assertEquals("mid", s.bytes.toString());
    }
}
