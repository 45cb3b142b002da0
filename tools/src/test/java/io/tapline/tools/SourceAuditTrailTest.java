package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.resync.ResyncStatus;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditException;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.audit.AuditVerifier;
import io.tapline.log.buffer.BufferMode;
import io.tapline.log.buffer.BufferStatus;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The source's audit trail: conditions begun, changed and ended become DEGRADED and HEALED entries, chained. */
class SourceAuditTrailTest {
    private static final String REMOTE = "127.0.0.1:4700";

    @TempDir
    Path dir;

    @Test
    void logsEachConditionOnceWhenItBeginsAndOnceItHasBeenGoneAWhile() throws Exception {
        SourceAuditTrail trail = SourceAuditTrail.start(dir, 0, "volume v");
        long t = 1_000_000;
        observe(trail, status(BufferMode.DATA, 10, 0, 0, 0), link(false, "connect refused"), t);
        observe(trail, status(BufferMode.DATA, 20, 0, 0, 0), link(false, "connect refused again"), t + 500);
        observe(trail, status(BufferMode.FULL, 30, 5, 7, 0), link(true, null), t + 2_000);
        observe(trail, status(BufferMode.FULL, 40, 9, 8, 0), link(true, null), t + 3_000); // numbers moved only
        observe(trail, status(BufferMode.DATA, 50, 0, -1, 1), link(true, null), t + 4_000); // whole volume now
        observe(trail, status(BufferMode.DATA, 55, 0, -1, 1), link(true, null), t + 5_000);
        observe(trail, status(BufferMode.DATA, 60, 0, 0, 1), link(true, null), t + 7_000);
        observe(trail, status(BufferMode.DATA, 70, 0, 0, 1), link(true, null), t + 20_000);
        trail.stopped(70, "buffer synced and closed");

        List<String> entries = AuditLog.read(dir).stream().map(e -> e.type() + " " + e.sequence() + " " + e.detail())
                .toList();
        String full = "buffer full: tracking changed chunks instead of their data (retained 100 bytes, max 200)";
        String lost = "5 writes not captured; a GAP record will name their range";
        String whole = "whole volume (primary written by another program) awaiting resync";
        assertEquals(List.of(
                "CONFIG 0 source started: volume v",
                "DEGRADED 10 link to " + REMOTE + " down: connect refused",
                "DEGRADED 30 " + full,
                "DEGRADED 30 " + lost,
                "DEGRADED 30 7 chunks awaiting resync",
                "HEALED 50 ended after 0.5 s: link to " + REMOTE + " down: connect refused", // gone 3.5 s
                "DEGRADED 50 " + whole,
                "DEGRADED 50 1 GAP record captured (1 in all): a range the replicas cannot have from the records,"
                        + " named to them for a resync",
                "HEALED 60 ended after 1.0 s: " + full, // last seen at t+3 s, gone 4 s at t+7 s
                "HEALED 60 ended after 1.0 s: " + lost,
                "HEALED 60 ended after 1.0 s: 7 chunks awaiting resync",
                "HEALED 70 ended after 1.0 s: " + whole,
                "CONFIG 70 source stopped: buffer synced and closed"), entries);
        AuditVerifier.Result r = AuditVerifier.verify(dir);
        assertTrue(r.intact(), r.problem());
        assertTrue(AuditLog.read(dir).stream().map(AuditEntry::who).allMatch(w -> w.startsWith("source")));
    }

    @Test
    void aLinkThatAFailingReplayerDropsTenTimesASecondIsTwoConditionsNotAFlood() throws Exception {
        SourceAuditTrail trail = SourceAuditTrail.start(dir, 0, "volume v");
        long t = 1_000_000;
        for (int i = 0; i < 100; i++) { // 10 s: down, then connected and refused, then down again...
            ShipperStatus st = i % 2 == 0 ? link(false, "connection reset")
                    : new ShipperStatus("r1", REMOTE, true, 0, 0, i, "refused by replayer: failed: disk full", null);
            observe(trail, status(BufferMode.DATA, 10, 0, 0, 0), st, t + i * 100L);
        }
        assertEquals("link " + REMOTE + ", replica " + REMOTE, trail.openConditions());
        observe(trail, status(BufferMode.DATA, 10, 0, 0, 0), link(true, null), t + 10_000);
        observe(trail, status(BufferMode.DATA, 10, 0, 0, 0), link(true, null), t + 14_000);
        trail.stopped(10, "stop");
        List<String> types = AuditLog.read(dir).stream().map(e -> e.type().name()).toList();
        assertEquals(List.of("CONFIG", "DEGRADED", "DEGRADED", "HEALED", "HEALED", "CONFIG"), types);
    }

    @Test
    void aRefusedReplicaAndARunningResyncAreConditionsAndALinkNeverTriedIsNot() {
        Map<String, SourceCondition> now = SourceCondition.of(status(BufferMode.DATA, 5, 0, 0, 0),
                List.of(new ShipperStatus("r1", REMOTE, false, 0, 0, 0, null, null),
                        new ShipperStatus("r2", "127.0.0.1:4701", false, 0, 0, 1,
                                "refused by replayer: paused after a rollback", null)),
                new ResyncStatus("waiting", "waiting for r2 to apply seq 5", "e1", false, 0, 0, 0, 0, 0, ""), null, 0);
        assertEquals(List.of("resync", "replica 127.0.0.1:4701"), List.copyOf(now.keySet()), now.toString());
        assertEquals("refused", now.get("replica 127.0.0.1:4701").label());
        assertEquals("a resync waits: waiting for r2 to apply seq 5", now.get("resync").detail());
        assertEquals("active", SourceCondition.of(status(BufferMode.DATA, 5, 0, 0, 0), List.of(),
                new ResyncStatus("resyncing", "beginning: x", "e1", false, 0, 0, 0, 0, 0, ""), null, 0)
                .get("resync").label(), "comparing or waiting: one condition");
        assertTrue(SourceCondition.of(status(BufferMode.DATA, 5, 0, 0, 0), List.of(),
                new ResyncStatus("verifying", "verify requested by x", "", false, 0, 0, 0, 0, 0, ""), null, 0).isEmpty(),
                "an online verify is no degradation");
    }

    @Test
    void aBrokenChainIsNotExtended() throws Exception {
        SourceAuditTrail.start(dir, 0, "volume v").stopped(0, "stop");
        Path log = dir.resolve(AuditLog.DIR).resolve(AuditLog.LOG);
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0x55}), 120); // inside entry 1's detail
        }
        AuditException e = assertThrows(AuditException.class, () -> SourceAuditTrail.start(dir, 0, "volume v"));
        assertTrue(e.getMessage().contains("not intact"), e.getMessage());
    }

    private static void observe(SourceAuditTrail trail, BufferStatus s, ShipperStatus link, long now)
            throws Exception {
        trail.observe(s, SourceCondition.of(s, List.of(link), null, null, now), now);
    }

    private static ShipperStatus link(boolean connected, String error) {
        return new ShipperStatus("r1", REMOTE, connected, 0, 0, 0, error, null);
    }

    private static BufferStatus status(BufferMode mode, long last, long lost, long tracked, long gaps) {
        return new BufferStatus("v", mode, 1, last, 100, 150, 200, Map.of("r1", last), 0, lost, gaps, tracked,
                tracked < 0 ? "primary written by another program" : "", "", "", BufferStatus.DURABLE, 0, -1, Map.of());
    }
}
