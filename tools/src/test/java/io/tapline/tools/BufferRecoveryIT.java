package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees when the capture buffer's files are damaged: a torn tail is trimmed and
 * reported at start; a flipped byte mid-segment stops start-up with one line naming the file, the
 * offset and the repair command, and that command makes the wedge start again.
 */
class BufferRecoveryIT {
    private static final Duration PEER = Duration.ofMinutes(2);

    @TempDir
    Path dir;

    private TaplineProcess startWedge(InetSocketAddress nbd, String log) throws IOException {
        return TaplineProcess.start(dir.resolve(log), "wedge", "--nbd", ReplicationRig.hostPort(nbd), "--export", "vol1",
                "--volume", dir.resolve("primary.img").toString(), "--size", "64M", "--buffer", dir.resolve("buffer").toString());
    }

    private Path writeSomeAndStop() throws Exception {
        InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
        try (TaplineProcess wedge = startWedge(nbd, "wedge-1.log").awaitListening(nbd, Duration.ofSeconds(60))) {
            for (int i = 0; i < 8; i++) {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P " + (i + 1) + " " + (i * 65536) + " 64k",
                        "nbd://" + ReplicationRig.hostPort(nbd) + "/vol1");
            }
        }
        try (Stream<Path> files = Files.list(dir.resolve("buffer").resolve("vol1"))) {
            List<Path> segments = files.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
            assertEquals(1, segments.size(), "one segment expected: " + segments);
            return segments.get(0);
        }
    }

    @Test
    void tornTailIsTrimmedAndReported() throws Exception {
        Path segment = writeSomeAndStop();
        long size = Files.size(segment);
        try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
            f.setLength(size - 1000); // a crash in the middle of the last record's payload
        }
        InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
        try (TaplineProcess wedge = startWedge(nbd, "wedge-2.log").awaitListening(nbd, Duration.ofSeconds(60))) {
            assertTrue(wedge.logText().contains("trimmed torn tail of"), wedge.logText());
        }
    }

    @Test
    void flippedByteMidSegmentIsRefusedAndRepairable() throws Exception {
        Path segment = writeSomeAndStop();
        long offset = Files.size(segment) / 3;
        try (RandomAccessFile f = new RandomAccessFile(segment.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x40);
        }
        InetSocketAddress nbd = new InetSocketAddress("127.0.0.1", Peers.freePort());
        Peers.Result refused = TaplineProcess.run(Duration.ofSeconds(60), "wedge", "--nbd", ReplicationRig.hostPort(nbd),
                "--export", "vol1", "--volume", dir.resolve("primary.img").toString(), "--size", "64M",
                "--buffer", dir.resolve("buffer").toString());
        assertEquals(1, refused.exitCode(), refused.output());
        String line = refused.output().lines().filter(l -> l.startsWith("tapline: ")).findFirst().orElseThrow(
                () -> new AssertionError("no one-line error:\n" + refused.output()));
        assertTrue(line.contains(segment.toString()) && line.contains("tapline buffer repair"), line);
        String command = line.substring(line.indexOf("tapline buffer repair") + "tapline ".length()).trim();
        List<String> args = List.of(command.split(" "));
        Peers.Result repaired = TaplineProcess.run(Duration.ofSeconds(60), args.toArray(String[]::new));
        assertEquals(0, repaired.exitCode(), repaired.output());
        try (TaplineProcess wedge = startWedge(nbd, "wedge-3.log").awaitListening(nbd, Duration.ofSeconds(60))) {
            assertTrue(wedge.isAlive());
        }
    }
}
