package io.tapline.snoop.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code --write-pcap} ring: files never grow past their size, at most the configured count
 * remain (across a restart too), tshark reads every file, and the frames kept are exactly the
 * newest frames written, byte for byte, with their lengths and timestamps.
 */
class PcapRingFilesTest {
    private static final long FILE_BYTES = 256 << 10;

    @TempDir
    Path dir;

    record Frame(byte[] data, int originalLength, long timeNanos) {
    }

    @Test
    void keepsTheNewestFramesInAtMostCountFilesOfAtMostSizeThatTsharkReads() throws Exception {
        List<Frame> frames = sampleFrames();
        Path ring = dir.resolve("ring");
        try (PcapRingFiles files = new PcapRingFiles(ring, FILE_BYTES, 3, 1, 262144)) {
            for (Frame f : frames) {
                files.append(f.data, f.originalLength, f.timeNanos);
            }
            assertTrue(files.filesStarted() > 3, "the sample fills more than three files: " + files.filesStarted());
        }
        List<Path> kept = new PcapRingFiles(ring, FILE_BYTES, 3, 1, 262144).ringFiles();
        assertEquals(3, kept.size(), kept.toString());
        List<Frame> read = new ArrayList<>();
        for (Path p : kept) {
            assertTrue(Files.size(p) <= FILE_BYTES, p + " is " + Files.size(p) + " bytes");
            String count = run("tshark", "-r", p.toString(), "-T", "fields", "-e", "frame.number");
            read.addAll(readBack(p));
            assertEquals(readBack(p).size(), count.lines().count(), "tshark reads every frame of " + p);
        }
        List<Frame> newest = frames.subList(frames.size() - read.size(), frames.size());
        for (int i = 0; i < read.size(); i++) {
            assertArrayEquals(newest.get(i).data, read.get(i).data, "frame " + i);
            assertEquals(newest.get(i).originalLength, read.get(i).originalLength);
            assertEquals(newest.get(i).timeNanos, read.get(i).timeNanos);
        }
    }

    @Test
    void aRestartContinuesTheNumberingAndKeepsTheBound() throws Exception {
        List<Frame> frames = sampleFrames();
        Path ring = dir.resolve("ring");
        for (int run = 0; run < 2; run++) {
            try (PcapRingFiles files = new PcapRingFiles(ring, FILE_BYTES, 4, 1, 262144)) {
                for (Frame f : frames.subList(0, frames.size() / 2)) {
                    files.append(f.data, f.originalLength, f.timeNanos);
                }
            }
        }
        List<Path> kept = new PcapRingFiles(ring, FILE_BYTES, 4, 1, 262144).ringFiles();
        assertEquals(4, kept.size(), kept.toString());
        List<String> names = kept.stream().map(p -> p.getFileName().toString()).toList();
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(null);
        assertEquals(sorted, names);
        assertTrue(Files.list(ring).count() == 4, "no other file left behind");
    }

    /** The frames of the iSCSI sample (about 900 kB). */
    static List<Frame> sampleFrames() throws Exception {
        List<Frame> out = new ArrayList<>();
        try (CaptureFileReader r = CaptureFileReader.open(sample("iscsi_qemuio_200x4k_random.pcap"))) {
            while (r.next((linkType, buf, offset, length, originalLength, timeNanos) ->
                    out.add(new Frame(Arrays.copyOfRange(buf, offset, offset + length), originalLength, timeNanos)))) {
                // every frame
            }
        }
        return out;
    }

    private static List<Frame> readBack(Path file) throws IOException {
        List<Frame> out = new ArrayList<>();
        try (CaptureFileReader r = CaptureFileReader.open(file)) {
            while (r.next((linkType, buf, offset, length, originalLength, timeNanos) ->
                    out.add(new Frame(Arrays.copyOfRange(buf, offset, offset + length), originalLength, timeNanos)))) {
                // every frame
            }
        }
        return out;
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " exited " + p.exitValue() + " (a pcap tshark cannot read?)");
        }
        return out;
    }

    private static Path sample(String name) throws Exception {
        return Path.of(PcapRingFilesTest.class.getResource("/samples/" + name).toURI());
    }
}
