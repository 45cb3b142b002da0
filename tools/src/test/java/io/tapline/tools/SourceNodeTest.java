package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.buffer.BufferConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SourceNodeTest {
    private static final BufferConfig BUFFER = new BufferConfig(1 << 20, 64L << 20, 32L << 20);

    @TempDir
    Path dir;

    private SourceNode.Settings settings(InetSocketAddress nbd) {
        return new SourceNode.Settings(nbd, "vol1", dir.resolve("vol1.img"), 1 << 20, dir.resolve("buffer"), BUFFER,
                List.of(), "src", null);
    }

    @Test
    void failedBindLeavesNoVolumeOrBufferFiles() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            InetSocketAddress busy = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            IOException e = assertThrows(IOException.class, () -> SourceNode.start(settings(busy)));
            assertTrue(e.getMessage().startsWith("cannot listen on "), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("vol1.img")), "volume");
        assertFalse(Files.exists(dir.resolve("buffer")), "buffer");
    }

    @Test
    void secondWedgeOnTheSameBufferIsRefusedAndTheFirstKeepsItsFiles() throws IOException {
        try (SourceNode first = SourceNode.start(settings(new InetSocketAddress("127.0.0.1", 0)))) {
            IOException e = assertThrows(IOException.class,
                    () -> SourceNode.start(settings(new InetSocketAddress("127.0.0.1", 0))));
            Path volumeDir = dir.resolve("buffer").resolve("vol1");
            assertEquals("buffer: " + volumeDir + " is in use by another process (lock file "
                    + volumeDir.resolve(".lock") + ")", e.getMessage());
            assertTrue(Files.exists(volumeDir.resolve("buffer.state")));
        }
    }

    /** A promoted volume with no peer has nothing to drain to: a demotion does not wait its 30 s for nothing. */
    @Test
    void aNodeWithoutRemotesIsNotDrainedAndSaysSoAtOnce() throws Exception {
        try (SourceNode node = SourceNode.start(settings(new InetSocketAddress("127.0.0.1", 0)))) {
            long t0 = System.nanoTime();
            assertFalse(node.awaitDrained(java.time.Duration.ofSeconds(30)));
            assertTrue(System.nanoTime() - t0 < java.time.Duration.ofSeconds(5).toNanos(), "answered without the wait");
        }
    }
}
