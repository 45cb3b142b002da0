package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.CaptureRecord;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crash window the pipelined apply opens ({@link ReplicaVolume#stage}): group N+1's
 * before-images durable and some of its bytes on the replica while group N's replica fdatasync
 * has not finished, and {@code applied.state} still before N (or at N, N+1 not yet complete).
 *
 * <p>Each test builds the disk states a power cut could leave: the undo log and audit log as
 * synced (copied once both groups' syncs ended), {@code applied.state} at the durable sequence
 * under test (the sync thread writes it after a group's replica and audit syncs, so it may or
 * may not have reached a staged group), and a replica whose
 * every 4 KiB page holds any one version of that page between the last durable applied sequence
 * and the newest staged write (writeback in any order, records torn at page boundaries, N+1's
 * pages on disk while N's are not). Reopening must recover the replica to exactly the image at
 * the durable applied sequence, built independently ({@link RollbackTest#reference}).
 */
class PipelineCrashTest {
    private static final long SIZE = 256 << 10;
    private static final int PAGE = 4096;
    private static final UndoConfig SMALL_SEGMENTS = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;
    @TempDir
    Path crashes;

    private final List<CaptureRecord> records = RollbackTest.history();

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096, "");
    }

    private JourneyMessage.Batch batch(int fromSeq, int toSeq) {
        return BatchCodec.pack(fromSeq, records.subList(fromSeq - 1, toSeq));
    }

    /**
     * A replica a power cut could leave: each page holds the image at a random sequence in
     * {@code [durable, newest]} (a page is never older than the last replica sync).
     */
    private byte[] tornReplica(long durable, long newest, Random rnd) {
        byte[][] versions = new byte[(int) (newest - durable + 1)][];
        byte[] out = new byte[(int) SIZE];
        for (int page = 0; page < SIZE / PAGE; page++) {
            int v = rnd.nextInt(versions.length);
            if (versions[v] == null) {
                versions[v] = RollbackTest.reference(records, durable + v);
            }
            System.arraycopy(versions[v], page * PAGE, out, page * PAGE, PAGE);
        }
        return out;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            all.forEach(p -> {
                try {
                    Path target = to.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else if (!p.getFileName().toString().equals(".lock")) {
                        Files.copy(p, target);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /**
     * The volume's files as synced (both groups' syncs ended), with {@code applied.state} at
     * {@code durable}: the sync thread writes a group's applied sequence only after its replica
     * and audit syncs, so a power cut can leave it at any completed-or-not group boundary while
     * the later groups' undo records are durable. A newer slot generation saying {@code durable}
     * stands for "the later group's state write never reached the disk".
     */
    private Path freeze(String name, long durable) throws IOException {
        Path frozen = crashes.resolve(name + "-files");
        copyTree(data, frozen);
        try (AppliedState state = AppliedState.open(frozen.resolve("vol1"))) {
            state.persist(durable, state.sync(), records.get((int) durable - 1).crc32c() & 0xFFFFFFFFL);
        }
        return frozen;
    }

    /**
     * Copies the volume's files as synced, replaces the replica with {@code states} torn
     * variants in turn, reopens each and checks it recovered to {@code durable} exactly; with
     * {@code rollBack}, also that the undo log still winds each back to seq 60 exactly.
     */
    private void crashAndRecover(String name, long durable, long newest, int states, UndoConfig cfg,
            boolean rollBack) throws Exception {
        Path frozen = freeze(name, durable);
        byte[] expected = RollbackTest.reference(records, durable);
        Random rnd = new Random(name.hashCode());
        for (int i = 0; i < states; i++) {
            Path copy = crashes.resolve(name + "-" + i);
            copyTree(frozen, copy);
            Files.write(copy.resolve("vol1/replica.img"), tornReplica(durable, newest, rnd));
            try (ReplicaVolume v = ReplicaVolume.openExisting(copy, "vol1", cfg)) {
                assertEquals(durable, v.lastApplied(), name + " state " + i);
                assertArrayEquals(expected, Files.readAllBytes(copy.resolve("vol1/replica.img")),
                        name + " state " + i + ": recovered replica differs from the image at seq " + durable);
                if (rollBack) {
                    v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 60, ""), "test", (d, t) -> { });
                    assertArrayEquals(RollbackTest.reference(records, 60),
                            Files.readAllBytes(copy.resolve("vol1/replica.img")), name + " state " + i + " rollback");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void powerCutWithTwoGroupsStagedRecoversToTheDurableSequence(boolean firstCompleted) throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            v.applyGroup(List.of(batch(1, 60), batch(61, 120)));
            // N = 121..200 (two batches), N+1 = 201..280: overlapping writes across the groups,
            // so N+1's before-images must hold N's bytes.
            ReplicaVolume.StagedGroup n = v.stage(List.of(batch(121, 160), batch(161, 200)));
            ReplicaVolume.StagedGroup n1 = v.stage(List.of(batch(201, 280)));
            long durable = 120;
            if (firstCompleted) {
                v.complete(n);
                durable = 200;
            }
            n1.settle(); // the copy below then sees the files as synced
            n.settle();
            crashAndRecover(firstCompleted ? "n-completed" : "none-completed", durable, 280, 12, SMALL_SEGMENTS, true);
            if (!firstCompleted) {
                v.complete(n);
            }
            v.complete(n1);
            assertEquals(280, v.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 280), Files.readAllBytes(data.resolve("vol1/replica.img")));
        }
    }

    /**
     * {@code tapline status --data} of a replica whose replayer stopped mid-group (nobody holds the
     * data directory): not consistent, whatever {@code applied.state} says, until an open undoes
     * the group; then consistent at the durable sequence again.
     */
    @Test
    void statusFromTheFilesOfAReplicaStoppedMidGroupSaysSoUntilAnOpenUndoesIt() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            v.applyGroup(List.of(batch(1, 60), batch(61, 120)));
            ReplicaVolume.StagedGroup n = v.stage(List.of(batch(121, 200)));
            n.settle();
            Path frozen = freeze("status", 120);
            VolumeStatus atRest = ReplayServer.readVolumeStatus(frozen).get(0);
            assertEquals("out-of-sync", atRest.state(), atRest.reason());
            assertEquals(120, atRest.lastAppliedSequence());
            assertEquals("the replayer stopped while it applied seq 121..200: the image may hold part of them; the"
                    + " replayer's next start undoes them (back to seq 120)", atRest.reason());
            assertEquals("out-of-sync", RollbackWindow.read(frozen, "vol1").replicaState(), "tapline window says so too");
            try (ReplicaVolume reopened = ReplicaVolume.openExisting(frozen, "vol1", SMALL_SEGMENTS)) {
                assertEquals(120, reopened.lastApplied());
            }
            VolumeStatus recovered = ReplayServer.readVolumeStatus(frozen).get(0);
            assertEquals("consistent", recovered.state(), recovered.reason());
            v.complete(n);
        }
        VolumeStatus closed = ReplayServer.readVolumeStatus(data).get(0);
        assertEquals("consistent", closed.state(), "a clean close leaves nothing above the applied sequence");
        assertEquals(200, closed.lastAppliedSequence());
    }

    /**
     * Retention while a later group is staged: with a tiny size bound, completing N must not
     * delete the undo segments that hold N+1's before-images, or a power cut before N+1 completes
     * could not be undone.
     */
    @Test
    void retentionKeepsTheStagedGroupsBeforeImages() throws Exception {
        UndoConfig tiny = new UndoConfig(8 << 10, 16 << 10, Duration.ofDays(1));
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), tiny)) {
            v.applyGroup(List.of(batch(1, 100)));
            ReplicaVolume.StagedGroup n = v.stage(List.of(batch(101, 150)));
            ReplicaVolume.StagedGroup n1 = v.stage(List.of(batch(151, 260)));
            v.complete(n); // retention runs here, with 151..260 in the log above the durable 150
            n1.settle();
            // the window start moved past 100 at most to what was durable: nothing above 150 went
            crashAndRecover("retention", 150, 260, 6, tiny, false);
            v.complete(n1);
            assertEquals(260, v.lastApplied());
        }
    }

    /**
     * Group N's replica fdatasync fails on the sync thread: neither N's nor N+1's applied
     * sequence may reach {@code applied.state}, even though N+1's own replica sync would succeed
     * (a later sync proves nothing about pages a failed one may have dropped).
     */
    @Test
    void failedReplicaSyncOfNStopsNPlusOnesStateWrite() throws Exception {
        java.util.concurrent.atomic.AtomicInteger syncs = new java.util.concurrent.atomic.AtomicInteger();
        ApplyFaults firstSyncFails = op -> {
            if (op == ApplyFaults.Op.REPLICA_SYNC && syncs.incrementAndGet() == 2) { // the first is group 1..120's
                throw new IOException("Input/output error");
            }
        };
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS, firstSyncFails)) {
            v.applyGroup(List.of(batch(1, 120)));
            ReplicaVolume.StagedGroup n = v.stage(List.of(batch(121, 200)));
            ReplicaVolume.StagedGroup n1 = v.stage(List.of(batch(201, 280)));
            assertThrows(java.io.SyncFailedException.class, () -> v.complete(n));
            v.abandon(n1);
            assertEquals(120, v.lastApplied());
            assertEquals(true, v.broken());
        }
        try (AppliedState state = AppliedState.open(data.resolve("vol1"))) {
            assertEquals(120, state.lastApplied(), "no state write after a failed replica sync");
        }
        try (ReplicaVolume v = ReplicaVolume.openExisting(data, "vol1", SMALL_SEGMENTS)) {
            assertEquals(120, v.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 120), Files.readAllBytes(data.resolve("vol1/replica.img")));
        }
    }

    /** The session's loop (stage N+1, complete N) gives the same replica, ACKs and undo log as one group at a time. */
    @Test
    void pipelinedGroupsRollBackExactlyToEverySequence() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            ReplicaVolume.StagedGroup pending = null;
            long lastAck = 0;
            for (int from = 1; from <= 300; from += 30) {
                ReplicaVolume.StagedGroup staged = v.stage(List.of(batch(from, from + 14), batch(from + 15, from + 29)));
                if (pending != null) {
                    long[] acks = v.complete(pending);
                    assertEquals(from - 1, acks[1]);
                    assertEquals(from - 1, v.lastApplied(), "durable only up to the completed group");
                    lastAck = acks[1];
                }
                pending = staged;
            }
            assertThrows(IllegalStateException.class, () -> v.rollback(0, "test", (d, t) -> { }),
                    "nothing else runs while a group is staged");
            lastAck = v.complete(pending)[1];
            assertEquals(300, lastAck);
            assertArrayEquals(RollbackTest.reference(records, 300), Files.readAllBytes(data.resolve("vol1/replica.img")));
            for (long n : new long[] {299, 271, 270, 150, 31, 0}) {
                Path out = crashes.resolve("img-" + n);
                PointInTimeImage.write(data, "vol1", AdminRequest.TO_SEQUENCE, n, "", out);
                assertArrayEquals(RollbackTest.reference(records, n), Files.readAllBytes(out), "image at seq " + n);
            }
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 45, ""), "test", (d, t) -> { });
            assertArrayEquals(RollbackTest.reference(records, 45), Files.readAllBytes(data.resolve("vol1/replica.img")));
        }
    }
}
