package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.ActivityLogConfig;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code tapline status} says a write-once power cut now would cost each replica: judged by
 * the replica's reported consistent point, never by its acknowledgement alone (a replica out of
 * sync acknowledges on, and a shipper moves a cursor past a hole the replica never applied).
 */
class PowerCutCoverageTest {
    @TempDir
    Path dir;

    @Test
    void aReplicaThatAcknowledgedPastTheBoundButIsConsistentOnlyBeforeItIsNotCovered() throws Exception {
        Path root = dir.resolve("buffer");
        BufferConfig writeOnce = BufferConfig.DEFAULT.withWriteOnce(true).withActivityLog(ActivityLogConfig.DEFAULT);
        try (CaptureBuffer buffer = CaptureBuffer.open(root.resolve("vol1"), "vol1", writeOnce)) {
            buffer.registerRemote("r1");
            for (int i = 0; i < 10; i++) {
                buffer.append(RecordKind.WRITE, (long) i << 12, 4096, 0, Provenance.INTERNAL, new byte[4096]);
            }
            buffer.changedChunks().drain(5); // a resync epoch began at 5: a cut now heals replicas consistent since 5
            buffer.acknowledge("r1", 10);
            buffer.sync();

            link(root, ReplicaStateReport.OUT_OF_SYNC, 3);
            Map<String, Object> v = volume(root);
            assertEquals(5L, v.get("powerCutCoveredFrom"));
            assertEquals(false, v.get("powerCutCoversEveryRemote"),
                    "acknowledged 10 but consistent only at 3: a cut now compares every chunk for it");

            link(root, ReplicaStateReport.RESYNCING, 8);
            assertEquals(false, volume(root).get("powerCutCoversEveryRemote"), "a cut abandons the epoch it is in");

            link(root, ReplicaStateReport.CONSISTENT, 10);
            assertEquals(true, volume(root).get("powerCutCoversEveryRemote"));
        }
    }

    @Test
    void aReplicaWithoutAReportOrAConsistentPointIsNotCovered() {
        assertFalse(PowerCutCoverage.covers(5, null));
        assertFalse(PowerCutCoverage.covers(0, ReplicaStateReport.CONSISTENT, 0L), "no consistent point: every chunk");
        assertTrue(PowerCutCoverage.covers(5, ReplicaStateReport.OUT_OF_SYNC, 5L),
                "out of sync since after the bound: the hot extents and the set heal it");
    }

    private static void link(Path root, String state, long consistent) throws Exception {
        LinkStatusFile.write(root.resolve("vol1"), List.of(new LinkStatusFile.Link("r1", "127.0.0.1:1", true, 10, 10, 0,
                "", System.currentTimeMillis(), state, 10, consistent, "", 0)));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> volume(Path root) throws Exception {
        Map<String, Object> report = StatusCommand.sourceReport(root);
        return ((List<Map<String, Object>>) report.get("volumes")).get(0);
    }
}
