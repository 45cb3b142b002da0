package io.tapline.log.cycles;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The image of a {@link LayeredVolume} as of a freeze: the base with the frozen layer above it.
 * It never changes (a merge into the base writes the same bytes the layer holds), so it can be read
 * and copied while the host writes to the active layer. Valid until the layer is merged.
 *
 * <p>Thread-safe.
 */
public final class FrozenImage {
    private final LayeredVolume volume;
    private final LayeredVolume.Layer layer;
    private final long frozenAtMillis;

    FrozenImage(LayeredVolume volume, LayeredVolume.Layer layer, long frozenAtMillis) {
        this.volume = volume;
        this.layer = layer;
        this.frozenAtMillis = frozenAtMillis;
    }

    /** The cycle whose writes the frozen layer holds. */
    public long cycle() {
        return layer.cycle();
    }

    /** When it was frozen (for a layer found frozen on open: when its successor was created). */
    public long frozenAtMillis() {
        return frozenAtMillis;
    }

    /** The volume's size. */
    public long sizeBytes() {
        return volume.sizeBytes();
    }

    /** Blocks written in the frozen cycle. */
    public long blocks() {
        return layer.table().count();
    }

    /** Whether the range is known to read as zeros: no block of the frozen layer in it, and a hole in the base. */
    public boolean isHole(long offsetBytes, long lengthBytes) {
        return volume.holeThrough(layer, null, offsetBytes, lengthBytes);
    }

    /** Reads the frozen image. */
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        volume.readThrough(layer, null, offsetBytes, dst);
    }

    /**
     * The ranges of {@code [offsetBytes, offsetBytes + lengthBytes)} whose blocks were written in
     * the frozen cycle, each {@code {offset, length}}, adjacent blocks as one range, cut to the
     * volume's end.
     */
    public java.util.List<long[]> writtenRanges(long offsetBytes, long lengthBytes) {
        java.util.List<long[]> out = new java.util.ArrayList<>();
        FreezeTable t = layer.table();
        long end = Math.min(volume.sizeBytes(), offsetBytes + lengthBytes);
        long lastBlock = (end - 1) / LayeredVolume.BLOCK_BYTES;
        for (long b = t.next(offsetBytes / LayeredVolume.BLOCK_BYTES); b >= 0 && b <= lastBlock; ) {
            long run = b;
            while (run + 1 <= lastBlock && t.contains(run + 1)) {
                run++;
            }
            long from = Math.max(offsetBytes, b * LayeredVolume.BLOCK_BYTES);
            long to = Math.min(end, (run + 1) * LayeredVolume.BLOCK_BYTES);
            out.add(new long[] {from, to - from});
            b = run + 1 <= lastBlock ? t.next(run + 1) : -1;
        }
        return out;
    }

    /**
     * The chunks of {@code chunkBytes} (a multiple of {@link LayeredVolume#BLOCK_BYTES}) that hold
     * a block written in the frozen cycle, as a bitmap: bit {@code c % 64} of word {@code c / 64}.
     */
    public long[] changedChunks(int chunkBytes) {
        if (chunkBytes % LayeredVolume.BLOCK_BYTES != 0) {
            throw new IllegalArgumentException("chunkBytes: " + chunkBytes + " (expected: a multiple of "
                    + LayeredVolume.BLOCK_BYTES + ")");
        }
        long perChunk = chunkBytes / LayeredVolume.BLOCK_BYTES;
        long chunks = (volume.sizeBytes() + chunkBytes - 1) / chunkBytes;
        long[] words = new long[(int) ((chunks + 63) / 64)];
        FreezeTable t = layer.table();
        for (long b = t.next(0); b >= 0; ) {
            long c = b / perChunk;
            words[(int) (c >>> 6)] |= 1L << c;
            long nextChunkBlock = (c + 1) * perChunk;
            b = nextChunkBlock < t.blocks() ? t.next(nextChunkBlock) : -1;
        }
        return words;
    }

    @Override
    public String toString() {
        return "FrozenImage[cycle " + cycle() + "]";
    }
}
