package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tapline.wedge.capture.FakeCaptureSink;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WedgeServerLockTest {
    private static final long SIZE = 1 << 20;

    @TempDir
    Path dir;

    private WedgeServer start(Path volume) throws IOException {
        return WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1", volume, SIZE,
                new FakeCaptureSink()));
    }

    @Test
    void secondWedgeOnTheSameVolumeIsRefusedUntilTheFirstCloses() throws IOException {
        Path volume = dir.resolve("primary.img");
        try (WedgeServer first = start(volume)) {
            IOException e = assertThrows(IOException.class, () -> start(volume));
            assertEquals("volume: " + volume + " is in use by another process (lock file " + dir.resolve(
                    "primary.img.lock") + ")", e.getMessage());
        }
        start(volume).close();
    }

    @Test
    void failedBindCreatesNoVolumeAndReleasesTheLock() throws IOException {
        Path volume = dir.resolve("primary.img");
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InetSocketAddress busy = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            IOException e = assertThrows(IOException.class, () -> WedgeServer.start(
                    WedgeConfig.of(busy, "vol1", volume, SIZE, new FakeCaptureSink())));
            assertEquals("cannot listen on " + busy, e.getMessage().substring(0, ("cannot listen on " + busy).length()));
        }
        assertFalse(Files.exists(volume), "no volume file after a failed bind");
        start(volume).close();
    }
}
