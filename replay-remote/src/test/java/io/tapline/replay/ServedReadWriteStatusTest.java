package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.undo.UndoConfig;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica served read-write as a promoted primary, then fenced or resolved back to secondary:
 * until a replayer opens it (and marks it durably) its state file still says consistent, so the
 * status read from the files must say out of sync, with no consistent point, from its role.
 */
class ServedReadWriteStatusTest {
    private static final long SIZE = 256 << 10;
    private static final UndoConfig UNDO = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;

    @Test
    void aRejoinedPromotedReplicaIsOutOfSyncInTheStatusReadFromItsFiles() throws Exception {
        JourneyMessage.Hello hello = new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                "vol1", SIZE, 4096, "");
        try (ReplicaVolume v = ReplicaVolume.open(data, hello, UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 28)));
        }
        VolumeRole.FIRST.fencedBy(new VolumeRole.Fence(3, 28, 0), 1, "test", true).write(data.resolve("vol1"));
        VolumeStatus s = ReplayServer.readVolumeStatus(data).get(0);
        assertEquals("out-of-sync", s.state(), s.toString());
        assertEquals(0, s.consistentSequence(), s.toString());
        assertTrue(s.reason().contains("served read-write as primary generation 3"), s.reason());
    }
}
