package io.tapline.journey.control;

/**
 * How many chunks in a row lie in one hole of a volume, found with few questions: a sparse
 * volume's comparison asked the file system once per 64 KiB chunk on each side (probe V D3: a
 * 4 TiB volume holding 1 MiB took 8 min to resync, 1024 {@code lseek}s per request on each side).
 * After a chunk that is a hole, spans of 2, 4, 8... chunks are asked as one range
 * ({@code SEEK_DATA} answers a range of any length at once); the first span that is not all hole
 * ends the run, and the chunks after the run are asked one by one again. A volume of scattered
 * small writes costs at most one question more per hole it has; a mostly empty one about
 * log2(chunks) per request. Stateless.
 */
public final class HoleRuns {
    private HoleRuns() {
    }

    /** Whether {@code [offsetBytes, offsetBytes + lengthBytes)} lies in one hole (no data). */
    @FunctionalInterface
    public interface HoleQuestion {
        boolean isHole(long offsetBytes, long lengthBytes) throws java.io.IOException;
    }

    /**
     * The number of chunks from the one at {@code firstOffsetBytes} on, at most {@code maxChunks},
     * that lie in a hole of a volume of {@code sizeBytes}: 0 when that chunk is not a hole (or lies
     * past the end).
     */
    public static int chunksInHole(HoleQuestion volume, long firstOffsetBytes, int chunkBytes, int maxChunks,
            long sizeBytes) throws java.io.IOException {
        long firstLength = Math.min(chunkBytes, sizeBytes - firstOffsetBytes);
        if (maxChunks < 1 || firstLength <= 0 || !volume.isHole(firstOffsetBytes, firstLength)) {
            return 0;
        }
        int run = 1;
        int span = 1;
        while (run < maxChunks) {
            span = Math.min(2 * span, maxChunks - run);
            long from = firstOffsetBytes + (long) run * chunkBytes;
            long length = Math.min((long) span * chunkBytes, sizeBytes - from);
            if (length <= 0 || !volume.isHole(from, length)) {
                break;
            }
            run += span;
        }
        return run;
    }
}
