package io.tapline.log.volume;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Holes of a sparse volume, as lseek(SEEK_DATA) reports them. */
class VolumeFileTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void holesAreReportedAndDataNeverIs() throws Exception {
        try (VolumeFile v = VolumeFile.openOrCreate(tmp.resolve("v.img"), 64 * MIB)) {
            // A new volume is sparse but for its last block (written to set the size).
            assertTrue(v.isHole(0, 63 * MIB), "a new sparse volume is a hole");
            assertFalse(v.isHole(63 * MIB, MIB), "the block that sets the size is data");
            v.write(5 * MIB + 100, new byte[] {1, 2, 3});
            assertFalse(v.isHole(5 * MIB, MIB), "dirty, unsynced data counts as data");
            assertFalse(v.isHole(0, 6 * MIB), "a range ending in data");
            assertTrue(v.isHole(0, 4 * MIB));
            assertTrue(v.isHole(8 * MIB, 55 * MIB), "after the data");
            v.force();
            assertFalse(v.isHole(5 * MIB, MIB));
            v.zero(5 * MIB, MIB, true);
            v.force();
            assertTrue(v.isHole(5 * MIB, MIB), "a punched range is a hole again");
            assertFalse(v.isHole(0, 0), "an empty range is not worth skipping");
        }
    }
}
