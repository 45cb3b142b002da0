package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.log.CaptureRecord;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rollback that fails part-way (issue 8 item 4): the half rolled back volume is never fed by a
 * source; {@code rollback.intent} is honoured when the volume is opened again (the rollback is
 * completed, or the volume stays refused with the repair named); retention keeps the undo records.
 */
class RollbackFailureTest {
    private static final UndoConfig ROOMY = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", 256 << 10,
                4096, "");
    }

    private VolumeHost host(UndoConfig cfg) {
        return new VolumeHost("vol1", data, cfg, RoleListener.NONE, ApplyObserver.NONE);
    }

    private byte[] replica() throws IOException {
        return Files.readAllBytes(data.resolve("vol1/replica.img"));
    }

    private long undoSegments() throws IOException {
        try (Stream<Path> s = Files.list(data.resolve("vol1/undo"))) {
            return s.count();
        }
    }

    @Test
    void transientFailureLeavesTheVolumeRefusedUntilTheRollbackIsCompleted() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        VolumeHost host = host(ROOMY);
        try {
            ReplicaVolume v = host.open(hello());
            v.apply(BatchCodec.pack(1, records.subList(0, 300)));
            assertThrows(UncheckedIOException.class, () -> v.rollback(90, "alice", (d, t) -> {
                if (d == 40) {
                    throw new UncheckedIOException(new IOException("Input/output error"));
                }
            }));
            VolumeStatus st = host.status();
            assertEquals(ReplicaStateReport.FAILED, st.state());
            assertTrue(st.reason().contains("half rolled back") && st.reason().contains("Input/output error"),
                    st.reason());
            // The next source connection completes the rollback (the fault is gone) and is refused: paused.
            RefusedException refused = assertThrows(RefusedException.class, () -> host.open(hello()));
            assertTrue(refused.getMessage().contains("rolled back to seq 90"), refused.getMessage());
            assertArrayEquals(RollbackTest.reference(records, 90), replica());
            assertEquals(90, host.status().lastAppliedSequence());
            assertEquals(VolumeStatus.PAUSED, host.status().state());
            assertTrue(!Files.exists(data.resolve("vol1/rollback.intent")));
        } finally {
            host.close();
        }
    }

    @Test
    void damagedUndoRecordKeepsTheVolumeRefusedAndItsUndoRecords() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        VolumeHost host = host(ROOMY);
        long segments;
        long left;
        try {
            ReplicaVolume v = host.open(hello());
            v.apply(BatchCodec.pack(1, records.subList(0, 300)));
            segments = undoSegments();
            assertTrue(segments > 4, "segments " + segments);
            damageMiddleSegment();
            IOException e = assertThrows(IOException.class, () -> v.rollback(10, "alice", (d, t) -> { }));
            assertTrue(e.getMessage().contains("crc32c"), e.getMessage());
            left = undoSegments();
            // The failed volume itself applies nothing more (no retention run either).
            IOException refusedApply = assertThrows(IOException.class,
                    () -> v.apply(BatchCodec.pack(2, records.subList(0, 300))));
            assertTrue(refusedApply.getMessage().contains("half rolled back"), refusedApply.getMessage());

            RefusedOrFailed first = RefusedOrFailed.of(() -> host.open(hello()));
            assertTrue(first.message().contains("half rolled back") && first.message().contains("resync the whole"
                    + " volume"), first.message());
            assertEquals(ReplicaStateReport.FAILED, host.status().state());
            assertTrue(Files.exists(data.resolve("vol1/rollback.intent")));
            VolumeStatus fromFiles = ReplayServer.readVolumeStatus(data).get(0); // tapline status --data
            assertEquals(VolumeStatus.PAUSED, fromFiles.state());
            assertTrue(fromFiles.reason().contains("unfinished (rollback.intent)"), fromFiles.reason());
            RefusedOrFailed again = RefusedOrFailed.of(() -> host.open(hello()));
            assertTrue(again.message().contains("half rolled back"), again.message());
        } finally {
            host.close();
        }
        assertTrue(undoSegments() == left, "undo segments kept for the intent: " + undoSegments() + " of " + left);
        // A restart honours the intent too: still refused, with the repair named.
        VolumeHost restarted = host(ROOMY);
        try {
            RefusedOrFailed r = RefusedOrFailed.of(() -> restarted.open(hello()));
            assertTrue(r.message().contains("half rolled back") && r.message().contains("rollback.intent"),
                    r.message());
        } finally {
            restarted.close();
        }
    }

    @Test
    void adminSeesTheFailureAndTheSourceIsRefusedWithTheRepair() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        ReplayServer server = ReplayServer.start(ReplayConfig.of(new java.net.InetSocketAddress("127.0.0.1", 0), data)
                .withUndo(ROOMY));
        try {
            JourneyTestClient source = new JourneyTestClient(server.boundAddress());
            source.send(hello());
            assertEquals(new JourneyMessage.Welcome(0), source.next());
            JourneyMessage.Batch b = BatchCodec.pack(1, records);
            source.send(b);
            assertEquals(new JourneyMessage.Ack(1, 300, b.crc32c()), source.next());
            damageMiddleSegment();
            JourneyMessage.AdminDone done = AdminClient.request(server.boundAddress(), new JourneyMessage.AdminRequest(
                    "", "alice@h", "vol1", JourneyMessage.AdminRequest.ROLLBACK,
                    JourneyMessage.AdminRequest.TO_SEQUENCE, 10, ""), 10_000, (d, t) -> { });
            assertTrue(!done.ok() && done.message().contains("half rolled back"), done.message());
            source.close();

            JourneyTestClient again = new JourneyTestClient(server.boundAddress());
            again.send(hello());
            JourneyMessage refused = again.next();
            assertTrue(refused instanceof JourneyMessage.Refused r && r.reason().contains("half rolled back")
                    && r.reason().contains("resync the whole volume"), refused.toString());
            again.close();
        } finally {
            server.close();
        }
    }

    /** Flips a data byte of a record in the middle of the undo log. */
    private void damageMiddleSegment() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(data.resolve("vol1/undo"))) {
            files = s.sorted().toList();
        }
        Path middle = files.get(files.size() / 2);
        try (FileChannel ch = FileChannel.open(middle, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long pos = 32 + 44 + 2; // first record's data (or its header's end)
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, pos);
            b.put(0, (byte) (b.get(0) ^ 0x5A)).rewind();
            ch.write(b, pos);
        }
    }

    /** The message of an open that must not succeed: refused, or failing to open. */
    record RefusedOrFailed(String message) {
        interface Open {
            ReplicaVolume run() throws Exception;
        }

        static RefusedOrFailed of(Open open) {
            try {
                ReplicaVolume v = open.run();
                throw new AssertionError("the half rolled back volume was opened for a source at seq "
                        + v.lastApplied());
            } catch (RefusedException | IOException e) {
                return new RefusedOrFailed(e.getMessage());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }
}
