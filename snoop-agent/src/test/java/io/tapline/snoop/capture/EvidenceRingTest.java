package io.tapline.snoop.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The capture thread's side of {@code --write-pcap}: frames beyond what the queue may hold are
 * left out and counted, never waited for; every frame accepted is in the files after close.
 */
class EvidenceRingTest {
    @TempDir
    Path dir;

    @Test
    void framesBeyondTheQueueAreCountedNotWaitedForAndTheRestIsWritten() throws Exception {
        byte[] frame = new byte[60_000];
        int offered = 2000;
        EvidenceRing ring = EvidenceRing.start(dir, 8 << 20, 100, 1, 262144, 1 << 20);
        for (int i = 0; i < offered; i++) {
            frame[0] = (byte) i;
            ring.frame(1, frame.clone(), frame.length, i * 1000L);
        }
        ring.close();
        assertTrue(ring.droppedFrames() > 0, "a 1 MiB queue cannot hold 120 MB offered at once");
        assertEquals(offered, ring.droppedFrames() + ring.writtenFrames());
        long inFiles = 0;
        for (Path p : new PcapRingFiles(dir, 8 << 20, 100, 1, 262144).ringFiles()) {
            inFiles += (Files.size(p) - 24) / (16 + frame.length);
        }
        assertEquals(ring.writtenFrames(), inFiles);
    }

    @Test
    void everyFrameOfASlowCaptureIsWritten() throws Exception {
        List<PcapRingFilesTest.Frame> frames = PcapRingFilesTest.sampleFrames();
        EvidenceRing ring = EvidenceRing.start(dir, 1 << 20, 100, 1, 262144, 64 << 20);
        for (var f : frames) {
            ring.frame(1, f.data(), f.originalLength(), f.timeNanos());
        }
        ring.close();
        assertEquals(0, ring.droppedFrames());
        assertEquals(frames.size(), ring.writtenFrames());
    }
}
