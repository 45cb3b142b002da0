package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica served read-write as a promoted primary, then fenced or resolved back to secondary:
 * until a replayer opens it (and marks it durably) its state file still says consistent, so the
 * status read from the files must say out of sync, with no consistent point, from its role.
 */
class ServedReadWriteStatusTest {
    @TempDir
    Path data;

    @Test
    void aRejoinedPromotedReplicaIsOutOfSyncInTheStatusReadFromItsFiles() throws Exception {
        SmallReplica.applied(data, 28);
        VolumeRole.FIRST.fencedBy(new VolumeRole.Fence(3, 28, 0), 1, "test", true).write(data.resolve("vol1"));
        VolumeStatus s = ReplayServer.readVolumeStatus(data).get(0);
        assertEquals("out-of-sync", s.state(), s.toString());
        assertEquals(0, s.consistentSequence(), s.toString());
        assertTrue(s.reason().contains("served read-write while it was primary, before it rejoined generation 3"), s.reason());
    }
}
