package io.tapline.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ExclusiveLock}: one holder, and who it is, told without taking the lock. */
class ExclusiveLockTest {
    @TempDir
    Path dir;

    @Test
    void theHolderIsToldFromProcLocksWithoutTakingTheLock() throws IOException {
        Path lockFile = dir.resolve(".lock");
        assertEquals(ExclusiveLock.NOBODY, ExclusiveLock.holder(lockFile), "no lock file");
        try (ExclusiveLock held = ExclusiveLock.acquire(lockFile, "data", dir)) {
            assertEquals(ProcessHandle.current().pid(), ExclusiveLock.holder(lockFile));
            assertEquals(ProcessHandle.current().pid(), ExclusiveLock.holder(lockFile), "asking took nothing");
            assertThrows(IOException.class, () -> ExclusiveLock.acquire(lockFile, "data", dir), "still one holder");
        }
        assertEquals(ExclusiveLock.NOBODY, ExclusiveLock.holder(lockFile), "released");
        assertEquals(ExclusiveLock.NOBODY, ExclusiveLock.holder(dir.resolve("other")), "another file");
    }
}
