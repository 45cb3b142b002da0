package io.tapline.snoop.iscsi;

import io.tapline.snoop.volume.VolumeKey;
import java.util.HashMap;
import java.util.Map;

/**
 * Logical block size and capacity per LUN, learnt from READ CAPACITY (10/16) responses (SBC-4
 * §5.20, §5.21) on any connection, or from a WRITE's transfer length when no READ CAPACITY was
 * seen ({@link #inferBlockSize}); until then the configured block size applies. Shared by the
 * connections of one capture; capture thread only.
 */
public final class LunGeometry {
    private final int defaultBlockSizeBytes;
    private final Map<VolumeKey, Integer> blockSizes = new HashMap<>();
    private final Map<VolumeKey, Long> sizes = new HashMap<>();
    /** LUNs whose block size came from a WRITE's transfer length ({@link #inferBlockSize}). */
    private final java.util.Set<VolumeKey> inferred = new java.util.HashSet<>();

    public LunGeometry(int defaultBlockSizeBytes) {
        if (defaultBlockSizeBytes < 512 || Integer.bitCount(defaultBlockSizeBytes) != 1) {
            throw new IllegalArgumentException("blockSize: " + defaultBlockSizeBytes + " (expected: a power of two >= 512)");
        }
        this.defaultBlockSizeBytes = defaultBlockSizeBytes;
    }

    /** The LUN's logical block size: READ CAPACITY's, one inferred from a write, or the configured default. */
    public int blockSize(VolumeKey volume) {
        return blockSizes.getOrDefault(volume, defaultBlockSizeBytes);
    }

    /** Size in bytes, or -1 when no READ CAPACITY was seen. */
    long sizeBytes(VolumeKey volume) {
        return sizes.getOrDefault(volume, -1L);
    }

    /**
     * A LUN whose READ CAPACITY the capture never showed (a tap started on a host logged in long
     * before): its block size is that of its WRITE commands, whose Expected Data Transfer Length
     * (RFC 7143 §11.3.4) is the CDB's transfer length in blocks times the block size. Without it a
     * 4096-byte-block LUN's writes would land at LBA x 512. Learnt once per LUN, never over a READ
     * CAPACITY answer; returns whether it changed the block size.
     */
    boolean inferBlockSize(VolumeKey volume, long expectedDataTransferLength, long blocks) {
        if (blocks <= 0 || expectedDataTransferLength <= 0 || expectedDataTransferLength % blocks != 0
                || blockSizes.containsKey(volume) || inferred.contains(volume)) {
            return false;
        }
        long blockLength = expectedDataTransferLength / blocks;
        if (blockLength < 512 || blockLength > (1 << 20) || Long.bitCount(blockLength) != 1) {
            return false;
        }
        inferred.add(volume);
        if (blockLength == defaultBlockSizeBytes) {
            return false;
        }
        blockSizes.put(volume, (int) blockLength);
        return true;
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
