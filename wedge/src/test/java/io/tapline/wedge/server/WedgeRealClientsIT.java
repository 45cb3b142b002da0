package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import io.tapline.wedge.capture.FakeCaptureSink;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The wedge against real NBD clients installed on this machine. A missing binary fails the test
 * (ProcessBuilder cannot start it), it never skips.
 */
class WedgeRealClientsIT {
    private static final int SIZE = 16 << 20;

    @TempDir
    Path dir;
    FakeCaptureSink sink = new FakeCaptureSink();
    WedgeServer server;

    private String start() throws IOException {
        server = WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1",
                dir.resolve("primary.img"), SIZE, sink));
        return "nbd://127.0.0.1:" + server.boundAddress().getPort() + "/vol1";
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + String.join(" ", cmd));
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text;
    }

    /** Stops the server (which syncs everything) and checks primary == expected == image rebuilt from capture. */
    private void assertPrimaryAndCaptureEqual(byte[] expected) throws IOException {
        server.close();
        server = null;
        byte[] primary = Files.readAllBytes(dir.resolve("primary.img"));
        assertEquals(SIZE, primary.length);
        assertTrue(Arrays.equals(expected, primary), "primary differs from the expected image");
        assertTrue(Arrays.equals(primary, sink.rebuildImage(SIZE)), "capture replay differs from the primary");
    }

    @Test
    void qemuIoRandomWritesLandOnPrimaryAndCaptureInOrder() throws Exception {
        String uri = start();
        Random rnd = new Random(42);
        byte[] expected = new byte[SIZE];
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < 300; i++) {
            int len = (1 + rnd.nextInt(64)) * 512;
            int off = rnd.nextInt(SIZE / 512 - len / 512) * 512;
            int pattern = rnd.nextInt(256);
            if (i % 25 == 24) {
                cmd.addAll(List.of("-c", "write -q -z " + (i % 50 == 49 ? "-u " : "") + off + " " + len));
                Arrays.fill(expected, off, off + len, (byte) 0);
            } else {
                // -F (FUA) on some writes exercises the group-commit path.
                cmd.addAll(List.of("-c", "write -q " + (i % 7 == 0 ? "-f " : "") + "-P " + pattern + " " + off + " " + len));
                Arrays.fill(expected, off, off + len, (byte) pattern);
            }
        }
        cmd.addAll(List.of("-c", "flush", uri));
        run(cmd.toArray(String[]::new));
        assertTrue(sink.records().stream().anyMatch(r -> r.kind() == RecordKind.FLUSH), "FLUSH captured");
        assertTrue(sink.records().stream().anyMatch(r -> r.fua()), "FUA captured");
        assertPrimaryAndCaptureEqual(expected);
    }

    private Path sourceImage() throws IOException {
        Random rnd = new Random(7);
        byte[] src = new byte[SIZE];
        for (int chunk = 0; chunk < SIZE / 65536; chunk++) {
            if (chunk % 3 != 1) { // every third chunk stays zero, so clients may send WRITE_ZEROES / TRIM
                byte[] b = new byte[65536];
                rnd.nextBytes(b);
                System.arraycopy(b, 0, src, chunk * 65536, 65536);
            }
        }
        Path p = dir.resolve("src.img");
        Files.write(p, src);
        return p;
    }

    @Test
    void qemuImgConvertCopiesTheImage() throws Exception {
        Path src = sourceImage();
        String uri = start();
        run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), uri);
        assertPrimaryAndCaptureEqual(Files.readAllBytes(src));
    }

    @Test
    void nbdcopyWithSeveralConnectionsCopiesTheImage() throws Exception {
        Path src = sourceImage();
        String uri = start();
        run("nbdcopy", "--connections=4", "--flush", src.toString(), uri);
        assertPrimaryAndCaptureEqual(Files.readAllBytes(src));
    }

    @Test
    void nbdinfoReportsSizeAndFlags() throws Exception {
        String uri = start();
        String json = run("nbdinfo", "--json", uri).replaceAll("\\s+", "");
        assertTrue(json.contains("\"export-size\":" + SIZE), json);
        for (String flag : List.of("\"can_multi_conn\":true", "\"can_flush\":true", "\"can_fua\":true",
                "\"can_trim\":true", "\"can_zero\":true", "\"can_cache\":true", "\"is_read_only\":false",
                "\"block_size_maximum\":33554432", "\"block_size_preferred\":4096")) {
            assertTrue(json.contains(flag), flag + " in " + json);
        }
    }

    @Test
    void qemuIoReadsBackWhatWasWritten() throws Exception {
        String uri = start();
        run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", uri);
        String out = run("qemu-io", "-f", "raw", "-c", "read -P 0xab 0 1M", uri);
        assertTrue(out.contains("read 1048576/1048576"), out);
        byte[] expected = new byte[SIZE];
        Arrays.fill(expected, 0, 1 << 20, (byte) 0xab);
        assertPrimaryAndCaptureEqual(expected);
    }
}
