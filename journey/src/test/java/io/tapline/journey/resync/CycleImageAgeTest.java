package io.tapline.journey.resync;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replicas' image age (the achieved RPO) counts from the cycle's freeze, also for a cycle an
 * earlier run of the wedge froze and this one copies again (probe s62 AE D3: after a restart in the
 * middle of a copy the age counted from the new process's start, 10 s shown for a 50 s old image).
 */
class CycleImageAgeTest {
    private static final ResyncConfig FAST = new ResyncConfig(64 << 10, 4 << 10, 0, Duration.ofSeconds(5),
            Duration.ofMillis(20));

    @TempDir
    Path dir;

    /** A 1 MiB volume whose cycle 2, frozen {@code agoMillis} before, is still to be copied. */
    private static final class FrozenEarlier implements CycleVolume, CycleVolume.Frozen {
        private final long frozenAtMillis;
        private volatile boolean copied;

        FrozenEarlier(long agoMillis) {
            this.frozenAtMillis = System.currentTimeMillis() - agoMillis;
        }

        @Override
        public Frozen freezeIfNone() {
            return copied ? null : this;
        }

        @Override
        public Frozen pending() {
            return copied ? null : this;
        }

        @Override
        public void copied(Frozen frozen) {
            copied = true;
        }

        @Override
        public long changedBlocks() {
            return 0;
        }

        @Override
        public long activeCycle() {
            return 3;
        }

        @Override
        public long cycle() {
            return 2;
        }

        @Override
        public long frozenAtMillis() {
            return frozenAtMillis;
        }

        @Override
        public ChangedChunks.Snapshot changedChunks(int chunkBytes) {
            return ChangedChunks.Snapshot.all(chunkBytes);
        }

        @Override
        public List<long[]> writtenRanges(long offsetBytes, long lengthBytes) {
            return List.of(new long[] {offsetBytes, lengthBytes});
        }

        @Override
        public long sizeBytes() {
            return 1 << 20;
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) {
            dst.position(dst.limit());
        }
    }

    @Test
    void aCycleFrozenBeforeThisStartIsAsOldAsItsFreeze() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            ResyncEngine engine = ResyncEngine.startCycles("vol1", buffer, List.of(), new FrozenEarlier(50_000), FAST,
                    Duration.ofMinutes(10));
            try {
                ResyncEngineFaultTest.awaitStatus(engine, s -> engine.cycleStatus().cyclesCopied() == 1);
                long age = engine.cycleStatus().replicaImageAgeMillis();
                assertTrue(age >= 50_000 && age < 70_000, "the image of cycle 2 is 50 s old, shown " + age + " ms");
                assertTrue(engine.unshippedChanges() == 0, "copied, nothing written since: nothing unshipped");
            } finally {
                engine.close();
            }
        }
    }
}
