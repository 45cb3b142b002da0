package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A status file's stamp ahead of the clock is a file written before the clock stepped back and not
 * rewritten since: its writer stopped (probe Y D2: a killed wedge's last link status read as fresh,
 * {@code synced} and {@code connected}, for as long as the step).
 */
class StampAgeTest {
    @TempDir
    Path dir;

    @Test
    void freshOnlyWithinTheBoundAndNotFromTheFuture() {
        long now = 1_000_000;
        assertTrue(StampAge.fresh(now - 4_999, now, 5_000));
        assertFalse(StampAge.fresh(now - 5_000, now, 5_000));
        assertTrue(StampAge.fresh(now + 900, now, 5_000), "a rewrite racing the read");
        assertFalse(StampAge.fresh(now + 600_000, now, 5_000), "written before the clock stepped back 10 min");
    }

    @Test
    void aRecordCapturedAfterTheClockNowReadsHasNoKnownAgeNotZero() {
        long now = 1_765_000_000_000L;
        assertEquals(6.0, SourceMetrics.unackedAgeSeconds((now - 6_000) * 1_000_000L, now), 1e-9);
        assertEquals(0.0, SourceMetrics.unackedAgeSeconds(0, now), "nothing unacknowledged");
        assertTrue(Double.isNaN(SourceMetrics.unackedAgeSeconds((now + 300_000) * 1_000_000L, now)),
                "captured before the clock stepped back 5 min (probe Y D3: it read 0)");
    }

    @Test
    void aStoppedWedgesLinkStatusFromBeforeAClockStepBackIsNotSynced() throws Exception {
        Path root = dir.resolve("buffer");
        try (CaptureBuffer buffer = CaptureBuffer.open(root.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            buffer.registerRemote("r1");
            buffer.append(RecordKind.WRITE, 0, 4096, 0, Provenance.INTERNAL, new byte[4096]);
            buffer.acknowledge("r1", 1);
            buffer.sync();
        }
        for (long stampOffset : new long[] {0, 600_000}) {
            LinkStatusFile.write(root.resolve("vol1"), List.of(new LinkStatusFile.Link("r1", "127.0.0.1:1", true, 1, 1,
                    0, "", System.currentTimeMillis() + stampOffset, ReplicaStateReport.CONSISTENT, 1, 1, "", 0)));
            Map<String, Object> report = StatusCommand.sourceReport(root);
            @SuppressWarnings("unchecked")
            Map<String, Object> remote = ((List<Map<String, Object>>) ((List<Map<String, Object>>) report.get("volumes"))
                    .get(0).get("remotes")).get(0);
            boolean live = stampOffset == 0;
            assertEquals(live, report.get("synced"), "stamped " + stampOffset + " ms ahead: " + report);
            assertEquals(live, remote.get("sourceRunning"), "stamped " + stampOffset + " ms ahead: " + remote);
        }
    }
}
