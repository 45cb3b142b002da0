package io.tapline.snoop.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --filter} on capture files keeps exactly the frames {@code tcpdump -r FILE EXPR} keeps,
 * for the sample captures, in pcap and in pcapng (rewritten by editcap), for filters on ports,
 * TCP flags, lengths and payload bytes.
 */
class BpfFrameFilterTest {
    private static final List<String> FILTERS = List.of("tcp port 13809", "tcp port 13260", "tcp port 1",
            "tcp[tcpflags] & tcp-syn != 0", "greater 1000", "less 100", "src port 13809 and tcp[20:4] = 0x67446698",
            "ip host 127.0.0.1");

    @TempDir
    Path dir;

    @Test
    void keepsTheFramesTcpdumpKeepsInPcapFiles() throws Exception {
        for (String sample : List.of("nbd_sample_nbdkit.pcap", "iscsi_qemuio_200x4k_random.pcap")) {
            Path file = sample(sample);
            for (String expr : FILTERS) {
                assertEquals(tcpdumpCount(file, expr), count(file, expr), sample + " filter '" + expr + "'");
            }
        }
    }

    @Test
    void keepsTheFramesTcpdumpKeepsInPcapngFiles() throws Exception {
        Path file = sample("nbd_sample_nbdkit.pcap");
        Path ng = dir.resolve("nbd.pcapng");
        run("editcap", "-F", "pcapng", file.toString(), ng.toString());
        for (String expr : FILTERS) {
            assertEquals(tcpdumpCount(file, expr), count(ng, expr), "pcapng filter '" + expr + "'");
        }
    }

    @Test
    void anExpressionTrueForEveryFrameKeepsEveryFrame() throws Exception {
        Path file = sample("nbd_sample_nbdkit.pcap");
        long frames = tcpdumpCount(file, "");
        assertTrue(frames > 100, "frames: " + frames);
        assertEquals(frames, count(file, "tcp or not tcp"));
    }

    @Test
    void refusesAnExpressionThatDoesNotCompileNamingItAndLibpcapsReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BpfFrameFilter.compile("tcp prot 80"));
        assertTrue(e.getMessage().startsWith("--filter: 'tcp prot 80' (expected: a BPF expression"), e.getMessage());
        assertTrue(e.getMessage().contains("syntax error"), e.getMessage());
    }

    private static long count(Path file, String expr) throws IOException {
        long[] kept = {0};
        try (BpfFrameFilter f = BpfFrameFilter.compile(expr); CaptureFileReader r = CaptureFileReader.open(file)) {
            while (r.next((linkType, buf, offset, length, originalLength, timeNanos) -> {
                if (f.accepts(linkType, buf, offset, length, originalLength)) {
                    kept[0]++;
                }
            })) {
                // every frame
            }
        }
        return kept[0];
    }

    private static long tcpdumpCount(Path file, String expr) throws Exception {
        String out = expr.isEmpty() ? run("tcpdump", "-nn", "-q", "-r", file.toString())
                : run("tcpdump", "-nn", "-q", "-r", file.toString(), expr);
        return out.isEmpty() ? 0 : out.lines().count();
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + " failed (is it installed? .ci/run installs it)");
        }
        return out;
    }

    private static Path sample(String name) throws Exception {
        return Path.of(BpfFrameFilterTest.class.getResource("/samples/" + name).toURI());
    }
}
