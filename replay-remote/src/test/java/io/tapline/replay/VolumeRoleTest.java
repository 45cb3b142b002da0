package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeRoleTest {
    @TempDir
    Path dir;

    @Test
    void absentFileIsTheFirstSecondary() throws IOException {
        assertSame(VolumeRole.FIRST, VolumeRole.read(dir));
        assertEquals("secondary", VolumeRole.FIRST.roleName());
        assertEquals(1, VolumeRole.FIRST.generation());
    }

    @Test
    void promotionStartsANewGenerationAndSurvivesAReopen() throws IOException {
        VolumeRole promoted = VolumeRole.FIRST.promoted(42, 1_700_000_000_000L, "ops@b", "10.0.0.1:7070,[::1]:7071");
        promoted.write(dir);
        VolumeRole read = VolumeRole.read(dir);
        assertEquals(promoted, read);
        assertTrue(read.primary());
        assertEquals(2, read.generation());
        assertTrue(read.fencedReason("vol1").startsWith("fenced: volume vol1 is primary on this node since generation 2"));
        VolumeRole demoted = read.demoted(42, 1_700_000_001_000L, "ops@b");
        demoted.write(dir);
        assertEquals(new VolumeRole(false, 2, 42, 1_700_000_001_000L, "ops@b", ""), VolumeRole.read(dir));
    }

    @Test
    void aRefusalNamesTheFenceItsSourceParses() {
        VolumeRole promoted = VolumeRole.FIRST.promoted(42, 1_700_000_000_123L, "ops at b (after seq 9)", "");
        String refusal = "refused by replayer: " + promoted.fencedReason("vol1");
        assertEquals(new VolumeRole.Fence(2, 42, 1_700_000_000_123L), VolumeRole.parseFence(refusal));
        assertEquals(null, VolumeRole.parseFence("refused by replayer: volume vol1 rolled back to seq 3"));
        assertEquals(null, VolumeRole.parseFence(null));
    }

    @Test
    void everyDamagedByteIsRefusedWithOneLineNamingTheFile() throws IOException {
        VolumeRole.FIRST.promoted(7, 1, "ops", "h:1").write(dir);
        Path file = dir.resolve(VolumeRole.FILE);
        byte[] good = Files.readAllBytes(file);
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x5A;
            Files.write(file, bad);
            IOException e = assertThrows(IOException.class, () -> VolumeRole.read(dir), "byte " + i);
            assertTrue(e.getMessage().startsWith("role file " + file), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        }
        for (int n = 0; n < good.length; n++) { // torn: every shorter prefix
            Files.write(file, java.util.Arrays.copyOf(good, n));
            assertThrows(IOException.class, () -> VolumeRole.read(dir), "length " + n);
        }
    }
}
