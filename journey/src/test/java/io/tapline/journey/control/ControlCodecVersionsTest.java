package io.tapline.journey.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer;
import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;
import org.junit.jupiter.api.Test;

/**
 * A replayer's state report reaches a version-3 source built before tags 7 and 8 existed (the
 * release of 2026-12-05): its decoder, modelled here with that day's class, refuses an unknown tag
 * (probe Z D2: the link reconnected ten times a second, the replica never advanced).
 */
class ControlCodecVersionsTest {
    /** {@code ReplicaStateReport} as a source of 2026-12-05 knew it: tags 1..6. */
    static final class ReportOfDecember5 {
        @Tag(1)
        String state;
        @Tag(2)
        long lastApplied;
        @Tag(3)
        long consistentSequence;
        @Tag(4)
        long resyncId;
        @Tag(5)
        String reason;
        @Tag(6)
        long lastRecordCrc;
    }

    private static ReportOfDecember5 decodeAsDecember5(byte[] body) {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        kryo.setReferences(false);
        kryo.setDefaultSerializer(TaggedFieldSerializer.class);
        kryo.register(long[].class, 10);
        kryo.register(ReportOfDecember5.class, 11);
        return (ReportOfDecember5) kryo.readClassAndObject(new Input(body));
    }

    private static final ReplicaStateReport REPORT = new ReplicaStateReport(ReplicaStateReport.RESYNCING, 99, 41, 7,
            "resync 7").withLastRecordCrc(0xABCDL).withHeartbeat(1000).withUnappliedFor(4321);

    @Test
    void aVersion3SourceOfDecember5DecodesTheReportWithoutTheLaterTags() {
        ReportOfDecember5 old = decodeAsDecember5(ControlCodec.encode(REPORT, 3).body());
        assertEquals(ReplicaStateReport.RESYNCING, old.state);
        assertEquals(99, old.lastApplied);
        assertEquals(41, old.consistentSequence);
        assertEquals(7, old.resyncId);
        assertEquals("resync 7", old.reason);
        assertEquals(0xABCDL, old.lastRecordCrc);

        KryoException e = assertThrows(KryoException.class, () -> decodeAsDecember5(ControlCodec.encode(REPORT).body()));
        assertTrue(e.getMessage().contains("Unknown field tag: 7"), e.getMessage());
    }

    @Test
    void aVersion3SourceThatKnowsTheLaterTagsReadsThemAsNotSaid() {
        ReplicaStateReport back = (ReplicaStateReport) ControlCodec.decode(ControlCodec.encode(REPORT, 3));
        assertEquals(REPORT, back);
        assertEquals(0, back.heartbeatMillis());
        assertEquals(0, back.unappliedForMillis());
        ReplicaStateReport now = (ReplicaStateReport) ControlCodec.decode(ControlCodec.encode(REPORT, 4));
        assertEquals(1000, now.heartbeatMillis());
        assertEquals(4321, now.unappliedForMillis());
    }
}
