package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.log.CaptureRecord;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.io.SyncFailedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * I/O errors while a group is applied (issue 8 items 5 and 14): the volume shows {@code failed}
 * with the reason, the undo log, the replica and {@code applied.state} are brought back to agree,
 * and the re-sent batch applies once the fault clears, without a restart. A failed fdatasync
 * stays failed until the replayer restarts.
 */
class ApplyFaultTest {
    private static final UndoConfig SMALL_SEGMENTS = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;

    /** The fake disk: fails operation {@code op} from its {@code nth} call on, until cleared. */
    static final class FaultSwitch implements ApplyFaults {
        private volatile Op op;
        private volatile int nth;
        private volatile String message;
        private int calls;

        synchronized void arm(Op failing, int fromCall, String errno) {
            calls = 0;
            nth = fromCall;
            message = errno;
            op = failing;
        }

        void clear() {
            op = null;
        }

        @Override
        public synchronized void before(Op o) throws IOException {
            if (o == op && ++calls >= nth) {
                throw new IOException(message);
            }
        }
    }

    private final FaultSwitch faults = new FaultSwitch();

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1",
                256 << 10, 4096, "");
    }

    private VolumeHost host() {
        return new VolumeHost("vol1", data, SMALL_SEGMENTS, RoleListener.NONE, ApplyObserver.NONE, faults);
    }

    private byte[] replica() throws IOException {
        return Files.readAllBytes(data.resolve("vol1/replica.img"));
    }

    private static JourneyMessage.Batch batch(List<CaptureRecord> records, int from, int to) {
        return BatchCodec.pack(from, records.subList(from, to));
    }

    @ParameterizedTest
    @EnumSource(value = ApplyFaults.Op.class, names = {"REPLICA_WRITE", "UNDO_APPEND", "AUDIT_SYNC"})
    void failedGroupIsUndoneAndTheResentBatchAppliesOnceTheFaultClears(ApplyFaults.Op op) throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        VolumeHost host = host();
        try {
            ReplicaVolume v = host.open(hello());
            v.apply(batch(records, 0, 100));
            faults.arm(op, op == ApplyFaults.Op.REPLICA_WRITE ? 3 : 1, "No space left on device");
            IOException e = assertThrows(IOException.class, () -> v.apply(batch(records, 100, 200)));
            // the cause itself, never an error of the error handling (an audit failure was "Self-suppression not permitted")
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            VolumeStatus failed = host.status();
            assertEquals(ReplicaStateReport.FAILED, failed.state());
            assertTrue(failed.reason().contains("applying seq 101..200 failed: No space left on device"),
                    failed.reason());

            // The source reconnects while the disk is still full: the group is undone, the batch fails again.
            ReplicaVolume second = host.open(hello());
            assertEquals(100, second.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 100), replica(), "the partial group was undone");
            assertThrows(IOException.class, () -> second.apply(batch(records, 100, 200)));
            assertEquals(ReplicaStateReport.FAILED, host.status().state());

            faults.clear(); // space returns
            ReplicaVolume third = host.open(hello());
            assertEquals(100, third.lastApplied());
            third.apply(batch(records, 100, 200));
            assertEquals(200, third.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 200), replica());
            assertEquals(ReplicaStateReport.CONSISTENT, host.status().state(), host.status().reason());
            third.apply(batch(records, 200, 300));
            third.rollback(third.resolveTarget(AdminRequest.TO_SEQUENCE, 42, ""), "t", (d, t) -> { });
            assertArrayEquals(RollbackTest.reference(records, 42), replica(), "undo log, replica and state agree");
        } finally {
            host.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ApplyFaults.Op.class, names = {"REPLICA_SYNC", "UNDO_SYNC"})
    void failedFsyncStaysFailedUntilRestart(ApplyFaults.Op op) throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        VolumeHost host = host();
        try {
            ReplicaVolume v = host.open(hello());
            v.apply(batch(records, 0, 100));
            faults.arm(op, 1, "Input/output error");
            assertThrows(SyncFailedException.class, () -> v.apply(batch(records, 100, 200)));
            faults.clear(); // the disk answers again, but the kernel may have dropped the pages
            RefusedException refused = assertThrows(RefusedException.class, () -> host.open(hello()));
            assertTrue(refused.getMessage().contains("fdatasync of") && refused.getMessage().contains("restarts"),
                    refused.getMessage());
            VolumeStatus st = host.status();
            assertEquals(ReplicaStateReport.FAILED, st.state());
            assertEquals(100, st.lastAppliedSequence());
            assertThrows(RefusedException.class, () -> host.open(hello()), "still failed on the next attempt");
        } finally {
            host.close();
        }
        VolumeHost restarted = host();
        try {
            ReplicaVolume v = restarted.open(hello());
            assertEquals(100, v.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 100), replica());
            v.apply(batch(records, 100, 300));
            assertArrayEquals(RollbackTest.reference(records, 300), replica());
        } finally {
            restarted.close();
        }
    }

    @Test
    void sequenceOfTheRetriedBatchIsNeverBelowTheUndoLog() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        VolumeHost host = host();
        try {
            ReplicaVolume v = host.open(hello());
            v.apply(batch(records, 0, 100));
            faults.arm(ApplyFaults.Op.REPLICA_WRITE, 1, "Input/output error");
            assertThrows(IOException.class, () -> v.apply(batch(records, 100, 200)));
            faults.clear();
            // Any use of the failed volume object itself is refused, not applied on top.
            IOException e = assertThrows(IOException.class, () -> v.apply(batch(records, 100, 200)));
            assertTrue(e.getMessage().contains("must be reopened"), e.getMessage());
            ReplicaVolume healed = host.open(hello());
            healed.apply(batch(records, 100, 200));
            assertArrayEquals(RollbackTest.reference(records, 200), replica());
        } finally {
            host.close();
        }
    }
}
