package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BufferStatusReaderTest {
    private static final BufferConfig SMALL = new BufferConfig(8192, 1L << 20, 1L << 19);

    @TempDir
    Path dir;

    @Test
    void statusFromFilesMatchesLiveStatus() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(buffer.status(), CaptureBuffer.readStatus(dir));
            buffer.registerRemote("east");
            buffer.registerRemote("west");
            for (int i = 0; i < 50; i++) {
                appendWrite(buffer, i * 4096L, 700);
            }
            buffer.acknowledge("east", 45);
            buffer.acknowledge("west", 23);
            BufferStatus live = buffer.status();
            assertEquals(live, CaptureBuffer.readStatus(dir));
            assertEquals(Map.of("east", 45L, "west", 23L), live.acknowledged());
            assertEquals(50, live.lastSequence());
            assertTrue(live.oldestUnackedTimeNanos() > 0);
            assertEquals(BufferMode.DATA, live.mode());
            assertEquals(SMALL.highWaterBytes(), live.highWaterBytes());

            buffer.acknowledge("west", 50);
            buffer.acknowledge("east", 50);
            BufferStatus synced = buffer.status();
            assertEquals(0, synced.oldestUnackedTimeNanos());
            assertTrue(synced.synced());
            assertEquals(synced, CaptureBuffer.readStatus(dir));
        }
        try (CaptureBuffer reopened = open(dir, SMALL)) {
            assertEquals(reopened.status(), CaptureBuffer.readStatus(dir));
        }
    }

    @Test
    void statusFromFilesToleratesATailStillBeingWritten() throws Exception {
        long before;
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 5; i++) {
                appendWrite(buffer, 0, 300);
            }
            before = buffer.status().retainedBytes();
        }
        List<Path> segments = TestBuffers.segments(dir);
        Path last = segments.get(segments.size() - 1);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, 1, 0, 9, 9}));
        }
        BufferStatus status = CaptureBuffer.readStatus(dir);
        assertEquals(5, status.lastSequence());
        assertEquals(before + 6, status.retainedBytes());
    }

    @Test
    void statusFromFilesFollowsAWriterOnAnotherThread() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (CaptureBuffer buffer = open(dir, new BufferConfig(4096, 1L << 30, 1L << 29))) {
            buffer.registerRemote("east");
            java.util.concurrent.Future<?> writer = pool.submit(() -> {
                for (int i = 0; i < 2000; i++) {
                    appendWrite(buffer, 0, 700);
                    if (i % 10 == 9) {
                        buffer.acknowledge("east", buffer.lastSequence() - 5);
                    }
                }
                return null;
            });
            long seen = 0;
            while (!writer.isDone()) {
                BufferStatus status = CaptureBuffer.readStatus(dir);
                assertTrue(status.lastSequence() >= seen, status.lastSequence() + " < " + seen);
                // The file shows a record once written, a moment before append publishes it: one in flight at most.
                assertTrue(status.lastSequence() <= buffer.lastSequence() + 1);
                seen = status.lastSequence();
            }
            writer.get();
            assertEquals(buffer.status(), CaptureBuffer.readStatus(dir));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void refusesADirectoryThatIsNoBuffer() {
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> CaptureBuffer.readStatus(dir));
        assertTrue(e.getMessage().contains("not a capture buffer directory"), e.getMessage());
    }
}
