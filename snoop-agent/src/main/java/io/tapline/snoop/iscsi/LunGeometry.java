package io.tapline.snoop.iscsi;

import io.tapline.snoop.volume.VolumeKey;
import java.util.HashMap;
import java.util.Map;

/**
 * Logical block size and capacity per LUN, learnt from READ CAPACITY (10/16) responses (SBC-4
 * §5.20, §5.21) on any connection; until then the configured block size applies. Shared by the
 * connections of one capture; capture thread only.
 */
public final class LunGeometry {
    private final int defaultBlockSizeBytes;
    private final Map<VolumeKey, Integer> blockSizes = new HashMap<>();
    private final Map<VolumeKey, Long> sizes = new HashMap<>();

    public LunGeometry(int defaultBlockSizeBytes) {
        if (defaultBlockSizeBytes < 512 || Integer.bitCount(defaultBlockSizeBytes) != 1) {
            throw new IllegalArgumentException("blockSize: " + defaultBlockSizeBytes + " (expected: a power of two >= 512)");
        }
        this.defaultBlockSizeBytes = defaultBlockSizeBytes;
    }

    int blockSize(VolumeKey volume) {
        return blockSizes.getOrDefault(volume, defaultBlockSizeBytes);
    }

    /** Size in bytes, or -1 when no READ CAPACITY was seen. */
    long sizeBytes(VolumeKey volume) {
        return sizes.getOrDefault(volume, -1L);
    }

    /** Records a READ CAPACITY answer; returns whether it changed anything. */
    boolean learn(VolumeKey volume, long lastLba, long blockLength) {
        if (blockLength < 512 || blockLength > (1 << 20) || Long.bitCount(blockLength) != 1) {
            return false;
        }
        long size = (lastLba + 1) * blockLength;
        Integer oldBs = blockSizes.put(volume, (int) blockLength);
        Long oldSize = sizes.put(volume, size);
        return oldBs == null || oldBs != blockLength || oldSize == null || oldSize != size;
    }
}
