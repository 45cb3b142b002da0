package io.tapline.journey.resync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.ResyncEpoch;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copy epochs ({@link ResyncConfig#copyChunks}, a volume whose log goes to Kafka): with no replica
 * to compare with, every tracked chunk is sent whole with the source's bytes, the BEGIN names the
 * bound the copy heals from, and the tracked set is emptied only once the END is durable.
 */
class CopyEpochTest {
    private static final int SIZE = 12 << 20;
    private static final int CHUNK = 1 << 20; // the buffer tracks 1 MiB chunks
    private static final ResyncConfig COPYING = new ResyncConfig(CHUNK, 4 << 10, 0, Duration.ofSeconds(5),
            Duration.ofMillis(20), true);

    @TempDir
    Path dir;

    @Test
    void everyTrackedChunkIsSentWholeWithTheSourcesBytesAndTheSetEmptiedAfterTheEnd() throws Exception {
        ArrayVolume source = new ArrayVolume(SIZE, 1);
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            buffer.changedChunks().mark(3L * CHUNK + 100, 10); // chunk 3
            buffer.changedChunks().mark(7L * CHUNK, 2L * CHUNK); // chunks 7 and 8
            long boundBefore = buffer.changedChunks().sinceSequence();
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), source, COPYING);
            try {
                ResyncEngineFaultTest.awaitStatus(engine, st -> st.epochsCompleted() >= 1);
            } finally {
                engine.close();
            }
            List<CaptureRecord> records = ResyncEngineFaultTest.records(buffer);
            ResyncEpoch begin = ResyncEpoch.parse(records.get(0).text());
            assertEquals(RecordKind.RESYNC_BEGIN, records.get(0).kind());
            assertTrue(begin.copy());
            assertEquals(boundBefore, begin.copiedSince());
            java.util.TreeSet<Long> chunksWritten = new java.util.TreeSet<>();
            for (CaptureRecord r : records.subList(1, records.size() - 1)) {
                assertEquals(RecordKind.WRITE, r.kind());
                assertArrayEquals(java.util.Arrays.copyOfRange(source.bytes, (int) r.offsetBytes(),
                        (int) (r.offsetBytes() + r.lengthBytes())), r.payload(), "the source's bytes");
                assertEquals(0, r.offsetBytes() % CHUNK);
                assertEquals(CHUNK, r.lengthBytes(), "whole chunks (one record each)");
                assertTrue(chunksWritten.add(r.offsetBytes() / CHUNK), "each chunk once");
            }
            assertEquals(java.util.Set.of(3L, 7L, 8L), chunksWritten, "the tracked chunks, nothing compared");
            CaptureRecord end = records.get(records.size() - 1);
            assertEquals(RecordKind.RESYNC_END, end.kind());
            assertEquals(begin.id(), ResyncEpoch.parse(end.text()).id());
            assertTrue(buffer.changedChunks().isEmpty());
            assertEquals(records.get(0).sequence(), buffer.changedChunks().sinceSequence(),
                    "the next copy heals replicas consistent since this BEGIN");
        }
    }

    @Test
    void aCopyCutShortByAReadErrorKeepsItsChunksAndTheNextOneSendsThemAll() throws Exception {
        ArrayVolume source = new ArrayVolume(SIZE, 2);
        source.failReads.set(true);
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            buffer.changedChunks().mark(2L * CHUNK, 1);
            buffer.changedChunks().mark(9L * CHUNK, 1);
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), source, COPYING);
            try {
                ResyncEngineFaultTest.awaitStatus(engine, st -> st.lastResult().startsWith("abandoned"));
                assertEquals(2, buffer.changedChunks().count(), "an abandoned copy drained nothing");
                source.failReads.set(false);
                ResyncEngineFaultTest.awaitStatus(engine, st -> st.epochsCompleted() >= 1);
            } finally {
                engine.close();
            }
            List<CaptureRecord> records = ResyncEngineFaultTest.records(buffer);
            long chunksSent = records.stream().filter(r -> r.kind() == RecordKind.WRITE).mapToLong(
                    r -> r.lengthBytes() / CHUNK).sum();
            assertEquals(2, chunksSent, "both chunks sent by the epoch that completed");
            assertTrue(buffer.changedChunks().isEmpty());
        }
    }

    @Test
    void aWriteDroppedAsTheCopyBeginsStaysTrackedAndKeepsTheOldBound() throws Exception {
        ArrayVolume source = new ArrayVolume(SIZE, 4);
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            buffer.changedChunks().mark(2L * CHUNK, 1);
            long boundBefore = buffer.changedChunks().sinceSequence();
            // The first quiescent point is the BEGIN's: a write dropped there (FULL) lands beside it.
            source.atFirstQuiescentPoint = () -> {
                buffer.changedChunks().mark(6L * CHUNK, 1);
                return null;
            };
            // The epoch after would copy chunk 6 and clear it before the engine is closed (it starts
            // at once); its read fails, so it is abandoned and drains nothing. An epoch that took
            // chunk 6 with chunk 2 would fail the same way and never complete.
            source.failChunkAt = 6L * CHUNK;
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), source, COPYING);
            try {
                ResyncEngineFaultTest.awaitStatus(engine, st -> st.epochsCompleted() >= 1);
            } finally {
                engine.close();
            }
            assertEquals(1, buffer.changedChunks().count(), "chunk 2 copied, chunk 6 (dropped as the copy began) kept");
            assertEquals(boundBefore, buffer.changedChunks().sinceSequence(),
                    "the drop's GAP lands inside the epoch: the next copy must still heal replicas from the old bound");
        }
    }

    @Test
    void aVerifyWithNoReplicaToAskIsRefusedNotPassed() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            ResyncEngine engine = ResyncEngine.start("vol1", buffer, List.of(), new ArrayVolume(SIZE, 3), COPYING);
            try {
                java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                        java.util.concurrent.ExecutionException.class,
                        () -> engine.verify("test").get(20, java.util.concurrent.TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("can be asked for hashes"), e.getCause().getMessage());
            } finally {
                engine.close();
            }
        }
    }

    /** A source volume in memory; reads fail with EIO while {@link #failReads}. */
    private static final class ArrayVolume implements SourceVolume {
        final byte[] bytes;
        final AtomicBoolean failReads = new AtomicBoolean();
        /** Reads of the chunk at this offset fail (-1: none). */
        volatile long failChunkAt = -1;
        /** Run once inside the first quiescent point (null: nothing). */
        volatile SourceVolume.Action<Void> atFirstQuiescentPoint;

        ArrayVolume(int size, long seed) {
            bytes = new byte[size];
            new Random(seed).nextBytes(bytes);
        }

        @Override
        public long sizeBytes() {
            return bytes.length;
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws IOException {
            long chunk = failChunkAt;
            if (failReads.get() || (chunk >= 0 && offsetBytes < chunk + CHUNK && offsetBytes + dst.remaining() > chunk)) {
                throw new IOException("Input/output error");
            }
            dst.put(bytes, (int) offsetBytes, dst.remaining());
        }

        @Override
        public synchronized <T> T atQuiescentPoint(Action<T> action) throws IOException {
            Action<Void> first = atFirstQuiescentPoint;
            if (first != null) {
                atFirstQuiescentPoint = null;
                first.run();
            }
            return action.run();
        }
    }
}
