package io.tapline.journey.control;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.esotericsoftware.kryo.io.Output;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocolException;
import org.junit.jupiter.api.Test;

class ControlCodecTest {

    @Test
    void replicaStateRoundTrips() {
        ReplicaStateReport r = new ReplicaStateReport(ReplicaStateReport.RESYNCING, 99, 41, 0x1234L, "resync 1234");
        assertEquals(r, ControlCodec.decode(ControlCodec.encode(r)));
    }

    @Test
    void theMeasurementsTravelButAreNotPartOfTheReportsValue() {
        ReplicaStateReport r = new ReplicaStateReport(ReplicaStateReport.CONSISTENT, 99, 99, 0, "")
                .withLastRecordCrc(0xABCDL).withHeartbeat(1000).withUnappliedFor(4321);
        ReplicaStateReport back = (ReplicaStateReport) ControlCodec.decode(ControlCodec.encode(r));
        assertEquals(4321, back.unappliedForMillis());
        assertEquals(1000, back.heartbeatMillis());
        assertEquals(0xABCDL, back.lastRecordCrc());
        assertEquals(r.withUnappliedFor(0), back, "a change of the wait alone is not a new state");
        assertEquals(4321, back.withHeartbeat(500).unappliedForMillis(), "every with-method keeps the others");
        assertEquals(0, r.withUnappliedFor(-5).unappliedForMillis());
    }

    @Test
    void hashRequestAndReplyRoundTrip() {
        ChunkHashRequest q = new ChunkHashRequest(7, 9, 65536, 100, 1024, 55);
        ChunkHashRequest q2 = (ChunkHashRequest) ControlCodec.decode(ControlCodec.encode(q));
        assertEquals(q.toString(), q2.toString());
        ChunkHashReply a = new ChunkHashReply(7, 60, new long[] {1, -2, Long.MAX_VALUE}, new long[] {3, 4, 5}, "");
        ChunkHashReply a2 = (ChunkHashReply) ControlCodec.decode(ControlCodec.encode(a));
        assertArrayEquals(a.hashes(), a2.hashes());
        assertArrayEquals(a.lastWritten(), a2.lastWritten());
        assertEquals(60, a2.appliedSequence());
        assertEquals("", a2.error());
    }

    @Test
    void failoverMessagesRoundTrip() {
        SourceGeneration g = (SourceGeneration) ControlCodec.decode(ControlCodec.encode(new SourceGeneration(7)));
        assertEquals(7, g.generation());
        SourceHead h = (SourceHead) ControlCodec.decode(ControlCodec.encode(new SourceHead(123_456, 1_700_000_000_000L)));
        assertEquals(123_456, h.capturedSequence());
        assertEquals(1_700_000_000_000L, h.atMillis());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SourceGeneration(0));
        assertTrue(e.getMessage().startsWith("generation: 0 (expected: >= 1)"), e.getMessage());
    }

    @Test
    void refusesBadRequestsAtConstruction() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ChunkHashRequest(1, 0, 1000, 0, 1, 0));
        assertTrue(e.getMessage().startsWith("chunkBytes: 1000 (expected:"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new ChunkHashRequest(1, 0, 4096, 0, ChunkHashRequest.MAX_CHUNKS + 1, 0));
        assertTrue(e.getMessage().startsWith("count: 4097"), e.getMessage());
    }

    @Test
    void refusesAnUnregisteredClassId() {
        Output out = new Output(16);
        out.writeVarInt(99 + 2, true); // Kryo writes class ids + 2
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class,
                () -> ControlCodec.decode(new JourneyMessage.Control(out.toBytes())));
        assertTrue(e.getMessage().startsWith("control: undecodable"), e.getMessage());
    }

    @Test
    void refusesAnArrayLengthLargerThanTheFrame() {
        byte[] good = ControlCodec.encode(new ChunkHashReply(1, 1, new long[] {5}, new long[] {6}, "")).body();
        // Find the first long[] count (1) and make it huge: the decoder must refuse before allocating.
        byte[] bad = good.clone();
        boolean found = false;
        for (int i = 0; i + 8 < bad.length && !found; i++) {
            if (bad[i] == 1 && (bad[i + 1] == 5 || bad[i + 8] == 5)) { // count 1, then the long 5 (either byte order)
                bad[i] = (byte) 0x7F;
                found = true;
            }
        }
        assertTrue(found, "the long[] count was located");
        byte[] probe = bad;
        assertThrows(JourneyProtocolException.class, () -> ControlCodec.decode(new JourneyMessage.Control(probe)));
    }

    @Test
    void refusesTrailingBytes() {
        byte[] good = ControlCodec.encode(new ReplicaStateReport("consistent", 1, 1, 0, "")).body();
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 3);
        JourneyProtocolException e = assertThrows(JourneyProtocolException.class,
                () -> ControlCodec.decode(new JourneyMessage.Control(longer)));
        assertTrue(e.getMessage().contains("trailing bytes"), e.getMessage());
    }
}
