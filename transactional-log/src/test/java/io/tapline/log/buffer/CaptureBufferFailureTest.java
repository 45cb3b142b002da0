package io.tapline.log.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failed fsync fails the buffer until it is reopened: no later sync is trusted (a retried
 * fsync may succeed after the kernel dropped the data), status names the reason, and the close
 * leaves no clean-shutdown marker, so the next open tracks every chunk for a resync.
 */
class CaptureBufferFailureTest {
    @TempDir
    Path dir;

    @Test
    void failedBufferRefusesEverySyncAndReopensTrackingEveryChunk() throws IOException {
        Path vol = dir.resolve("vol1");
        try (CaptureBuffer b = CaptureBuffer.open(vol, "vol1", BufferConfig.DEFAULT)) {
            b.append(RecordKind.WRITE, 0, 4, 0, Provenance.INTERNAL, new byte[4]);
            b.sync();
            b.fail("primary fsync failed: Input/output error");
            b.fail("a second reason is not kept");
            IOException e = assertThrows(IOException.class, b::sync);
            assertTrue(e.getMessage().contains("primary fsync failed: Input/output error"), e.getMessage());
            assertEquals("volume failed until restart: primary fsync failed: Input/output error", b.storageError());
            assertEquals(b.storageError(), b.status().storageError());
            assertThrows(IOException.class, b::sync, "still refused: never retried");
        }
        assertFalse(Files.exists(vol.resolve(CaptureBuffer.CLEAN_SHUTDOWN_FILE)), "no clean shutdown claimed");
        try (CaptureBuffer b = CaptureBuffer.open(vol, "vol1", BufferConfig.DEFAULT)) {
            assertTrue(b.uncleanShutdown());
            assertEquals(-1, b.status().trackedChunks(), "every chunk is tracked for the resync");
            assertEquals("", b.failure(), "a reopened buffer starts healthy");
            b.sync();
        }
    }
}
