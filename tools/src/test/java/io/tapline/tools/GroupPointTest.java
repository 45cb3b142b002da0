package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.log.CycleMark;
import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A group's common instant is its newest completed cycle in the replicas' log order, whatever the clock said. */
class GroupPointTest {
    @TempDir
    Path data;

    /** Cycles completed in this order, frozen at these wall-clock instants; returns nothing. */
    private void cycles(String volume, long... frozenAtMillis) throws Exception {
        try (AuditLog a = AuditLog.open(data.resolve(volume))) {
            long seq = 1;
            for (int i = 0; i < frozenAtMillis.length; i++) {
                String epoch = "resync " + (i + 1) + " chunks: ";
                a.append(AuditType.RECORD, seq++, 0, 0, 0, RecordKind.RESYNC_BEGIN.wireValue(), 0, null, "source",
                        epoch + "cycle " + (i + 1) + " " + CycleMark.text(frozenAtMillis[i], "db"));
                a.append(AuditType.RECORD, seq++, 0, 0, 4096, RecordKind.WRITE.wireValue(), 0, new byte[32], "source", "");
                a.append(AuditType.RECORD, seq++, 0, 0, 0, RecordKind.RESYNC_END.wireValue(), 0, null, "source",
                        epoch + "compared 1 chunks");
            }
            a.sync();
        }
    }

    @Test
    void aCycleFrozenAfterAClockStepBackIsTheNewest() throws Exception {
        long t = 1_765_000_000_000L;
        cycles("data", t, t - 600_000, t - 1_200_000); // the clock stepped back 10 min before each of the last two
        cycles("log", t, t - 600_000, t - 1_200_000);
        List<GroupPoint.Member> point = GroupPoint.find(data, List.of("data", "log"));
        assertEquals(t - 1_200_000, point.get(0).frozenAtMillis(), "the third cycle, completed last");
        assertEquals(9, point.get(0).endSequence());
        assertEquals(9, point.get(1).endSequence());
    }

    @Test
    void aCycleOnlyOneReplicaCompletedIsNotCommon() throws Exception {
        long t = 1_765_000_000_000L;
        cycles("data", t, t + 5_000);
        cycles("log", t);
        List<GroupPoint.Member> point = GroupPoint.find(data, List.of("data", "log"));
        assertEquals(t, point.get(0).frozenAtMillis());
        assertEquals(3, point.get(0).endSequence());
        assertEquals(3, point.get(1).endSequence());
    }
}
