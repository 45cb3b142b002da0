package io.tapline.journey.resync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.ResyncEpoch;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A source disk that fails (EIO on the third read) in the middle of a resync: a boundary that
 * cannot be made to fail on demand here, so the source volume is a Mockito mock. The epoch must be
 * abandoned without a RESYNC_END (its replicas stay "resyncing" and a later full epoch covers
 * them), the reason must show in the engine's status, and the next epoch, once the disk reads
 * again, must complete.
 */
class ResyncEngineFaultTest {
    /** 64 KiB chunks, 4 KiB blocks, no rate limit, polled every 20 ms. */
    private static final ResyncConfig FAST = new ResyncConfig(64 << 10, 4 << 10, 0, Duration.ofSeconds(5),
            Duration.ofMillis(20));

    @TempDir
    Path dir;

    @Test
    void eioDuringAComparisonAbandonsTheEpochWithoutAnEndAndTheNextOneCompletes() throws Exception {
        AtomicInteger failAt = new AtomicInteger(3);
        SourceVolume disk = disk(1L << 20, read -> failAt.get() > 0 && read >= failAt.get()); // failing from then on

        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), disk, FAST);
            try {
                engine.request(true, "test");
                awaitStatus(engine, s -> s.lastResult().startsWith("abandoned"));
                assertTrue(engine.status().lastResult().contains("Input/output error"), engine.status().toString());
                List<CaptureRecord> afterFailure = records(buffer);
                assertEquals(RecordKind.RESYNC_BEGIN, afterFailure.get(0).kind());
                assertTrue(afterFailure.stream().allMatch(r -> r.kind() == RecordKind.RESYNC_BEGIN),
                        "BEGINs (the engine retries what it still owes) and no END: " + afterFailure);

                failAt.set(-1); // the disk reads again
                engine.request(true, "again");
                awaitStatus(engine, s -> s.epochsCompleted() == 1);
                List<CaptureRecord> all = records(buffer);
                CaptureRecord end = all.get(all.size() - 1);
                assertEquals(RecordKind.RESYNC_END, end.kind());
                assertEquals(ResyncEpoch.parse(all.get(all.size() - 2).text()).id(), ResyncEpoch.parse(end.text()).id(),
                        "the END closes the last epoch");
                assertEquals(16, engine.status().chunksCompared(), "1 MiB in 64 KiB chunks");
            } finally {
                engine.close();
            }
        }
    }

    /**
     * The same fault without a second request: the chunks the abandoned full epoch had not compared
     * are back in the tracked set, and the next epoch, begun by the engine itself, resumes it and
     * compares only those (a lost link cost a whole-volume epoch every time before).
     */
    @Test
    void theNextEpochResumesTheAbandonedOneOverTheChunksItHadNotCompared() throws Exception {
        AtomicInteger failAt = new AtomicInteger(1500); // inside the second request
        // 4096 chunks of 64 KiB: requests of 1024
        SourceVolume disk = disk(256L << 20, read -> read == failAt.get());

        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), disk, FAST);
            try {
                engine.request(true, "test");
                awaitStatus(engine, s -> s.lastResult().contains("the next epoch resumes it"));
                long owed = buffer.changedChunks().count();
                assertEquals(192, owed, "the 1 MiB chunks after the first request's 64 MiB, not the whole volume");
                failAt.set(-1);
                awaitStatus(engine, s -> s.epochsCompleted() == 1);
                List<CaptureRecord> all = records(buffer);
                ResyncEpoch first = ResyncEpoch.parse(all.get(0).text());
                ResyncEpoch second = ResyncEpoch.parse(all.get(1).text());
                assertTrue(first.full());
                assertEquals(first.id(), second.resumes(), second.text());
                assertEquals(3072, engine.status().chunksCompared(), "192 MiB in 64 KiB chunks: " + engine.status());
                assertTrue(buffer.changedChunks().isEmpty());
            } finally {
                engine.close();
            }
        }
    }

    /**
     * The source stops in the middle of a full epoch (a clean stop here; a kill -9 or a power cut
     * leave the same file, OwedChunksTest): the restarted engine puts back what the epoch had not
     * compared, from the last progress it made durable, and its next epoch resumes the cut one
     * instead of comparing the whole volume again.
     */
    @Test
    void anEpochCutByTheSourcesStopIsResumedAfterItsRestart() throws Exception {
        // A disk taking ~1 ms per 64 KiB read, on the engine's read path: the time is the point, not a wait for
        // a condition. The engine makes its progress durable at most once a second, so only an epoch that lasts
        // some seconds (4096 reads) has progress on disk to resume from.
        SourceVolume slowDisk = disk(256L << 20, read -> {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
            return false;
        });
        long firstId;
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), slowDisk, FAST);
            try {
                engine.request(true, "test");
                awaitStatus(engine, s -> s.chunksCompared() >= 2048); // two requests of 1024 done, the third under way
            } finally {
                engine.close(); // the source stops
            }
            assertEquals(0, engine.status().epochsCompleted(), "cut, not completed: " + engine.status());
            firstId = ResyncEpoch.parse(records(buffer).get(0).text()).id();
        }
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), disk(256L << 20, read -> false), FAST);
            try {
                awaitStatus(engine, s -> s.epochsCompleted() == 1);
                List<CaptureRecord> all = records(buffer);
                ResyncEpoch resumed = ResyncEpoch.parse(all.stream().filter(r -> r.kind() == RecordKind.RESYNC_BEGIN)
                        .reduce((a, b) -> b).orElseThrow().text());
                assertEquals(firstId, resumed.resumes(), resumed.text());
                long compared = engine.status().chunksCompared();
                assertTrue(compared > 0 && compared <= 4096 - 1024,
                        "at least the first request's 1024 chunks of 64 KiB were not compared again: " + engine.status());
                assertTrue(buffer.changedChunks().isEmpty());
                assertEquals(null, buffer.changedChunks().owedByACutEpoch(), "nothing owed once it completed");
            } finally {
                engine.close();
            }
        }
    }

    /** A source disk of {@code size} whose read number N (from 1) fails with EIO when {@code fails} says so. */
    private static SourceVolume disk(long size, java.util.function.IntPredicate fails) throws Exception {
        SourceVolume disk = mock(SourceVolume.class);
        when(disk.sizeBytes()).thenReturn(size);
        AtomicInteger reads = new AtomicInteger();
        doAnswer(inv -> {
            if (fails.test(reads.incrementAndGet())) {
                throw new IOException("Input/output error");
            }
            ByteBuffer dst = inv.getArgument(1);
            dst.position(dst.limit());
            return null;
        }).when(disk).read(anyLong(), any(ByteBuffer.class));
        when(disk.atQuiescentPoint(any())).thenAnswer(inv -> ((SourceVolume.Action<?>) inv.getArgument(0)).run());
        return disk;
    }

    /** Polls the engine's status until {@code done} holds, failing after 20 s (the tests of this package share it). */
    static void awaitStatus(ResyncEngine engine, java.util.function.Predicate<ResyncStatus> done)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!done.test(engine.status())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("engine status never matched: " + engine.status());
            }
            Thread.sleep(10); // the engine's own thread moves on; there is nothing to wait on
        }
    }

    /** Every record of {@code buffer}, from sequence 1 (the tests of this package share it). */
    static List<CaptureRecord> records(CaptureBuffer buffer) throws IOException, InterruptedException {
        List<CaptureRecord> out = new ArrayList<>();
        try (RecordReader r = buffer.openReader(1)) {
            for (CaptureRecord c = r.next(0); c != null; c = r.next(0)) {
                out.add(c);
            }
        }
        return out;
    }
}
