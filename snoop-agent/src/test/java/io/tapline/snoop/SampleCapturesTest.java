package io.tapline.snoop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample captures of the test resources (made by {@code samples/make-samples.sh}) decode to exactly
 * the writes the script made: the same offsets, the same bytes, in command order.
 */
class SampleCapturesTest {
    /** The volume of target {@code iqn.2024-01.io.tapline:samples}, LUN 1 (the login names it). */
    static final String ISCSI_VOLUME = "iqn.2024-01.io.tapline_samples-lun1";
    /** md5 of the 4 MiB make-samples.sh writes at LBA 0 (Python {@code random.Random(20240101).randbytes}). */
    static final String SEQUENTIAL_MD5 = "e886b5f888746f04cf00a637330b084f";

    @TempDir
    Path dir;

    @Test
    void defaultSampleRebuildsTheSequentialImageAndEveryRandomWrite() throws Exception {
        Samples.Result r = Samples.decode(Samples.file("sample_default.pcap"), dir.resolve("buffer"));
        assertEquals(List.of(ISCSI_VOLUME), List.copyOf(r.volumes().keySet()));
        List<CaptureRecord> records = Samples.records(dir.resolve("buffer"), ISCSI_VOLUME);
        assertEquals(0, records.stream().filter(x -> x.kind() == RecordKind.GAP).count(), () -> gaps(records));
        List<long[]> cmds = patternLines(Samples.file("sample_default.rand_cmds.txt"));
        assertEquals(2 + cmds.size(), records.stream().filter(x -> x.kind() == RecordKind.WRITE).count());
        Path image = dir.resolve("image");
        ImageRebuilder.apply(records, image);
        assertEquals(SEQUENTIAL_MD5, Samples.expected("sample_default.seq.md5"),
                "expected.properties sample_default.seq.md5 (expected: the md5 this test names; remade samples?)");
        assertEquals(SEQUENTIAL_MD5, ImageRebuilder.md5(ImageRebuilder.read(image, 0, 4 << 20)));
        assertPatterns(image, cmds);
        assertEquals(2 + cmds.size(), r.volumes().get(ISCSI_VOLUME).writes());
    }

    @Test
    void qemuIoSampleHasTheTwoHundredRandomWritesInCommandOrder() throws Exception {
        Samples.decode(Samples.file("iscsi_qemuio_200x4k_random.pcap"), dir.resolve("buffer"));
        List<CaptureRecord> records = Samples.records(dir.resolve("buffer"), ISCSI_VOLUME);
        List<long[]> cmds = patternLines(Samples.file("iscsi_qemuio_200x4k_random.cmds.txt"));
        List<CaptureRecord> writes = records.stream().filter(x -> x.kind() == RecordKind.WRITE).toList();
        assertEquals(cmds.size(), writes.size(), () -> gaps(records));
        for (int i = 0; i < cmds.size(); i++) {
            assertEquals(cmds.get(i)[0], writes.get(i).offsetBytes(), "write " + i);
            byte[] expected = new byte[4096];
            Arrays.fill(expected, (byte) cmds.get(i)[1]);
            assertArrayEquals(expected, writes.get(i).payload(), "write " + i);
        }
        assertEquals(0, records.stream().filter(x -> x.kind() == RecordKind.GAP).count());
    }

    @Test
    void nbdkitSampleHasEveryCommandOfTheMix() throws Exception {
        assertNbdMix("nbd_sample_nbdkit.pcap", "nbd-127.0.0.1_" + Samples.NBDKIT_PORT,
                "nbd_sample_nbdkit.writes.txt");
    }

    @Test
    void qemuNbdSampleHasEveryCommandOfTheMix() throws Exception {
        assertNbdMix("nbd_sample_qemunbd.pcap", "nbd-127.0.0.1_" + Samples.QEMUNBD_PORT,
                "nbd_sample_qemunbd.writes.txt");
    }

    private void assertNbdMix(String pcap, String volume, String writesFile) throws Exception {
        Samples.Result r = Samples.decode(Samples.file(pcap), dir.resolve("buffer"));
        assertEquals(List.of(volume), List.copyOf(r.volumes().keySet()));
        assertEquals(64L << 20, r.volumes().get(volume).sizeBytes());
        assertEquals(1, r.volumes().get(volume).reads());
        List<CaptureRecord> records = Samples.records(dir.resolve("buffer"), volume);
        List<long[]> cmds = patternLines(Samples.file(writesFile));
        assertEquals(1 + cmds.size() + 4, records.size(), () -> records.toString());
        CaptureRecord first = records.get(0);
        assertEquals(RecordKind.WRITE, first.kind());
        assertEquals(0, first.offsetBytes());
        byte[] ramp = new byte[1 << 20];
        for (int i = 0; i < ramp.length; i++) {
            ramp[i] = (byte) i;
        }
        assertArrayEquals(ramp, first.payload());
        for (int i = 0; i < cmds.size(); i++) {
            CaptureRecord w = records.get(1 + i);
            assertEquals(RecordKind.WRITE, w.kind());
            assertEquals(cmds.get(i)[0], w.offsetBytes());
            byte[] expected = new byte[4096];
            Arrays.fill(expected, (byte) cmds.get(i)[1]);
            assertArrayEquals(expected, w.payload());
            assertEquals(0, w.flags());
        }
        int at = 1 + cmds.size();
        CaptureRecord fua = records.get(at);
        assertEquals(RecordKind.WRITE, fua.kind());
        assertEquals(8L << 20, fua.offsetBytes());
        assertTrue(fua.fua());
        byte[] f = new byte[4096];
        Arrays.fill(f, (byte) 'F');
        assertArrayEquals(f, fua.payload());
        assertEquals(RecordKind.FLUSH, records.get(at + 1).kind());
        CaptureRecord trim = records.get(at + 2);
        assertEquals(RecordKind.DISCARD, trim.kind());
        // make-samples.sh calls libnbd h.trim(1 << 20, 32 << 20): count first, then offset,
        // so the wire carries offset 32 MiB, length 1 MiB.
        assertEquals(32L << 20, trim.offsetBytes());
        assertEquals(1L << 20, trim.lengthBytes());
        CaptureRecord zero = records.get(at + 3);
        assertEquals(RecordKind.WRITE_ZEROES, zero.kind());
        assertEquals(40L << 20, zero.offsetBytes()); // h.zero(1<<20, 40<<20): count, offset
        assertEquals(1L << 20, zero.lengthBytes());
    }

    static void assertPatterns(Path image, List<long[]> cmds) throws Exception {
        for (long[] c : cmds) {
            byte[] block = ImageRebuilder.read(image, c[0], 4096);
            for (byte b : block) {
                assertEquals((byte) c[1], b, "offset " + c[0]);
            }
        }
    }

    static List<long[]> patternLines(Path file) throws Exception {
        return Files.readAllLines(file).stream().filter(l -> !l.isBlank())
                .map(l -> Arrays.stream(l.trim().split("\\s+")).mapToLong(Long::parseLong).toArray()).toList();
    }

    private static String gaps(List<CaptureRecord> records) {
        return records.stream().filter(x -> x.kind() == RecordKind.GAP).map(CaptureRecord::text).toList().toString();
    }
}
