package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code audit list}, {@code audit export} and {@code heat} read a volume's audit log one entry at
 * a time: a log of 200,000 entries (a busy host's minutes) goes through a JVM of 48 MiB of heap,
 * in which the entries alone, held as a list, do not fit (they ran out of memory before).
 */
class AuditReadingMemoryTest {
    private static final int ENTRIES = 200_000;

    @TempDir
    static Path data;

    @BeforeAll
    static void aLongLog() throws IOException {
        try (AuditLog a = AuditLog.open(data.resolve("vol1"))) {
            byte[] digest = new byte[32];
            for (int i = 1; i <= ENTRIES; i++) {
                digest[0] = (byte) i;
                a.append(i % 50_000 == 0 ? AuditType.MARK : AuditType.RECORD, i, i * 1_000_000L, (i % 4096) * 4096L,
                        4096, i % 50_000 == 0 ? RecordKind.MARK.wireValue() : RecordKind.WRITE.wireValue(), 1, digest,
                        "nbd 127.0.0.1:51234 -> 127.0.0.1:10809 tag=0x" + Integer.toHexString(i), "");
                if (i % 4096 == 0) {
                    a.sync();
                }
            }
            a.sync();
        }
    }

    /** Runs the CLI in a JVM of 48 MiB of heap; returns [exit code, stdout lines, last stdout line, stderr]. */
    private static List<String> cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx48m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                "io.tapline.tools.TaplineCli"));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(data, "out", ".txt");
        Path err = Files.createTempFile(data, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the CLI did not finish in 120 s: " + cmd);
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        String errText = Files.readString(err);
        Files.delete(out);
        Files.delete(err);
        return List.of(String.valueOf(p.exitValue()), String.valueOf(lines.size()),
                lines.isEmpty() ? "" : lines.get(lines.size() - 1), errText);
    }

    @Test
    void exportAsCsvAndJsonStreamsEveryEntry() throws Exception {
        List<String> csv = cli("audit", "export", "--data", data.toString(), "--volume", "vol1", "--format", "csv");
        assertEquals("0", csv.get(0), csv.get(3));
        assertEquals(String.valueOf(ENTRIES + 1), csv.get(1), "a header and a row per entry");
        assertTrue(csv.get(2).startsWith(ENTRIES + ","), csv.get(2));

        List<String> json = cli("audit", "export", "--data", data.toString(), "--volume", "vol1", "--format", "json");
        assertEquals("0", json.get(0), json.get(3));
        assertTrue(json.get(2).endsWith("]"), json.get(2));
    }

    @Test
    void aBadFilterIsRefusedBeforeAnyJsonIsPrinted() throws Exception {
        List<String> bad = cli("audit", "list", "--data", data.toString(), "--volume", "vol1", "--kind", "bogus",
                "--json");
        assertEquals("2", bad.get(0), bad.get(3));
        assertTrue(!bad.get(2).contains("]"), "no array on stdout, an empty one read as no entries: " + bad.get(2));
        assertTrue(bad.get(3).contains("--kind: bogus"), bad.get(3));
    }

    @Test
    void listWithAFilterAndHeatReadTheWholeLog() throws Exception {
        List<String> marks = cli("audit", "list", "--data", data.toString(), "--volume", "vol1", "--kind", "mark");
        assertEquals("0", marks.get(0), marks.get(3));
        assertEquals(String.valueOf(ENTRIES / 50_000), marks.get(1));

        List<String> heat = cli("heat", "--data", data.toString(), "--volume", "vol1", "--json");
        assertEquals("0", heat.get(0), heat.get(3));
    }
}
