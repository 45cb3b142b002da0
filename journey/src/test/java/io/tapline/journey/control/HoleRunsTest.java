package io.tapline.journey.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class HoleRunsTest {
    private static final int CHUNK = 64 << 10;

    /** A volume with data in the given {start, end} ranges, counting the questions asked. */
    private static final class Sparse implements HoleRuns.HoleQuestion {
        final List<long[]> data;
        int questions;

        Sparse(long[]... data) {
            this.data = List.of(data);
        }

        @Override
        public boolean isHole(long offsetBytes, long lengthBytes) {
            questions++;
            return data.stream().noneMatch(d -> d[0] < offsetBytes + lengthBytes && d[1] > offsetBytes);
        }
    }

    /** Every chunk's verdict from the runs, as the hashers walk a request of {@code count} chunks. */
    private static boolean[] walk(Sparse v, int count, long size) throws Exception {
        boolean[] hole = new boolean[count];
        for (int i = 0; i < count; ) {
            int run = HoleRuns.chunksInHole(v, (long) i * CHUNK, CHUNK, count - i, size);
            for (int end = i + run; i < end; i++) {
                hole[i] = true;
            }
            if (run == 0) {
                i++;
            }
        }
        return hole;
    }

    @Test
    void anEmptyVolumeIsAskedAboutLogTwoOfTheChunksNotEveryChunk() throws Exception {
        Sparse empty = new Sparse();
        boolean[] hole = walk(empty, 1024, 1024L * CHUNK);
        for (boolean h : hole) {
            assertTrue(h);
        }
        assertTrue(empty.questions <= 11, empty.questions + " questions for 1024 chunks (was 1024)");
    }

    @Test
    void everyChunkGetsTheVerdictAChunkByChunkWalkGives() throws Exception {
        long size = 1000L * CHUNK + 4096; // a partial last chunk
        Sparse v = new Sparse(new long[] {3L * CHUNK + 5, 3L * CHUNK + 6}, new long[] {100L * CHUNK, 140L * CHUNK},
                new long[] {513L * CHUNK - 1, 513L * CHUNK}, new long[] {size - 1, size});
        boolean[] hole = walk(v, 1001, size);
        for (int i = 0; i < 1001; i++) {
            long from = (long) i * CHUNK;
            assertEquals(new Sparse(v.data.toArray(long[][]::new)).isHole(from, Math.min(CHUNK, size - from)), hole[i],
                    "chunk " + i);
        }
        assertTrue(v.questions < 200, v.questions + " questions");
    }

    @Test
    void aChunkWithDataOrPastTheEndIsNoRun() throws Exception {
        assertEquals(0, HoleRuns.chunksInHole(new Sparse(new long[] {0, 1}), 0, CHUNK, 8, 8L * CHUNK));
        assertEquals(0, HoleRuns.chunksInHole(new Sparse(), 8L * CHUNK, CHUNK, 8, 8L * CHUNK));
        assertEquals(3, HoleRuns.chunksInHole(new Sparse(), 5L * CHUNK, CHUNK, 8, 8L * CHUNK), "stops at the end");
    }
}
