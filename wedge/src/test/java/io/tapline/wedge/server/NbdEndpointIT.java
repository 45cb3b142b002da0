package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.wedge.capture.FakeCaptureSink;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One {@link NbdEndpoint} with a standby export "vol1" and a wedge export "vol2", against real
 * clients (nbdinfo, qemu-io). A missing binary fails the test, it never skips.
 */
class NbdEndpointIT {
    private static final int SIZE = 8 << 20;
    /** What qemu-io prints for a request answered with NBD error EPERM (it then exits 1). */
    private static final String EPERM = "Operation not permitted";

    @TempDir
    Path dir;
    NbdEndpoint endpoint;
    WedgeServer vol2;
    WedgeServer vol1;

    @BeforeEach
    void start() throws IOException {
        endpoint = NbdEndpoint.start(new InetSocketAddress("127.0.0.1", 0));
        endpoint.serveStandby("vol1", SIZE, "replica of site-a, generation 7");
        vol2 = WedgeServer.start(config("vol2"), endpoint);
    }

    @AfterEach
    void stop() throws IOException {
        if (vol1 != null) {
            vol1.close();
        }
        vol2.close();
        endpoint.close();
    }

    private WedgeConfig config(String name) {
        // The listen address is ignored on a shared endpoint; a busy port here would not matter.
        return WedgeConfig.of(new InetSocketAddress("127.0.0.1", 1), name, dir.resolve(name + ".img"), SIZE,
                new FakeCaptureSink());
    }

    private String uri(String export) {
        return "nbd://127.0.0.1:" + endpoint.boundAddress().getPort() + "/" + export;
    }

    private record Result(int exitCode, String output) {
    }

    private static Result exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + String.join(" ", cmd));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Result r = exec(cmd);
        assertEquals(0, r.exitCode(), String.join(" ", cmd) + " failed:\n" + r.output());
        return r.output();
    }

    /** Runs a command that must fail because the server answered EPERM. */
    private static void assertRefused(String what, String... cmd) throws IOException, InterruptedException {
        Result r = exec(cmd);
        assertEquals(1, r.exitCode(), String.join(" ", cmd) + " must fail:\n" + r.output());
        assertTrue(r.output().contains(what + " failed: " + EPERM), r.output());
    }

    private byte[] range(String export, int offset, int length) throws IOException {
        return Arrays.copyOfRange(Files.readAllBytes(dir.resolve(export + ".img")), offset, offset + length);
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void nbdinfoShowsTheStandbyExportAndItsSize() throws Exception {
        String json = run("nbdinfo", "--json", uri("vol1")).replaceAll("\\s+", "");
        assertTrue(json.contains("\"export-name\":\"vol1\""), json);
        assertTrue(json.contains("\"export-size\":" + SIZE), json);
        assertTrue(json.contains("\"block_size_maximum\":33554432"), json);
    }

    @Test
    void nbdinfoListShowsBothExports() throws Exception {
        String json = run("nbdinfo", "--list", "--json", uri("")).replaceAll("\\s+", "");
        assertTrue(json.contains("\"export-name\":\"vol1\""), json);
        assertTrue(json.contains("\"export-name\":\"vol2\""), json);
    }

    @Test
    void qemuIoReadAndWriteOnTheStandbyExportFailWithEperm() throws Exception {
        assertRefused("read", "qemu-io", "-f", "raw", "-c", "read 0 4k", uri("vol1"));
        assertRefused("write", "qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 4k", uri("vol1"));
    }

    @Test
    void wedgeExportNextToAStandbyReadsAndWrites() throws Exception {
        run("qemu-io", "-f", "raw", "-c", "write -P 0xcd 64k 64k", uri("vol2"));
        String out = run("qemu-io", "-f", "raw", "-c", "read -P 0xcd 64k 64k", uri("vol2"));
        assertTrue(out.contains("read 65536/65536"), out);
        assertArrayEquals(filled(65536, 0xcd), range("vol2", 65536, 65536));
    }

    @Test
    void promotionReplacesTheStandbyExportWithAWedge() throws Exception {
        vol1 = WedgeServer.start(config("vol1"), endpoint);
        run("qemu-io", "-f", "raw", "-c", "write -P 0x3c 1M 128k", uri("vol1"));
        String out = run("qemu-io", "-f", "raw", "-c", "read -P 0x3c 1M 128k", uri("vol1"));
        assertTrue(out.contains("read 131072/131072"), out);
        assertArrayEquals(filled(131072, 0x3c), range("vol1", 1 << 20, 131072));
        String json = run("nbdinfo", "--json", uri("vol1")).replaceAll("\\s+", "");
        assertTrue(json.contains("\"export-size\":" + SIZE), json);
    }

    @Test
    void fencedWedgeRefusesLaterWritesAndKeepsItsVolume() throws Exception {
        run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64k", uri("vol2"));
        vol2.standby("fenced");
        assertTrue(vol2.isStandby());
        assertRefused("write", "qemu-io", "-f", "raw", "-c", "write -P 0x22 0 64k", uri("vol2"));
        assertRefused("read", "qemu-io", "-f", "raw", "-c", "read 0 4k", uri("vol2"));
        assertArrayEquals(filled(65536, 0x11), range("vol2", 0, 65536), "the refused write left the file unchanged");
        java.nio.ByteBuffer viaWedge = java.nio.ByteBuffer.allocate(4096);
        vol2.readPrimary(0, viaWedge);
        assertArrayEquals(filled(4096, 0x11), viaWedge.array(), "the volume stays open after standby");
    }

    @Test
    void unknownNameIsRefusedAndTheEmptyNameNeedsASingleExport() throws Exception {
        Result unknown = exec("nbdinfo", uri("nope"));
        assertEquals(1, unknown.exitCode(), unknown.output());
        assertTrue(unknown.output().contains("server replied with error to opt_go request"), unknown.output());
        Result ambiguous = exec("nbdinfo", uri(""));
        assertEquals(1, ambiguous.exitCode(), "two exports: no default\n" + ambiguous.output());
        endpoint.remove("vol1");
        String json = run("nbdinfo", "--json", uri("")).replaceAll("\\s+", "");
        assertTrue(json.contains("\"export-size\":" + SIZE), json);
        run("qemu-io", "-f", "raw", "-c", "write -P 0x77 0 4k", uri(""));
        assertArrayEquals(filled(4096, 0x77), range("vol2", 0, 4096), "\"\" reached the one export, vol2");
    }
}
