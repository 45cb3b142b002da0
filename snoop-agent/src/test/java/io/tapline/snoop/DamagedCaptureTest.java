package io.tapline.snoop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated files, flipped bytes, captures joined mid-transfer: no crash, no hang, losses reported as GAPs. */
class DamagedCaptureTest {
    private static final String VOLUME = SampleCapturesTest.ISCSI_VOLUME;

    @TempDir
    Path dir;

    @Test
    void truncatedFilesKeepWhatWasReadAndReportTheCutAsGap() throws Exception {
        byte[] all = Files.readAllBytes(Samples.file("sample_default.pcap"));
        Random random = new Random(7);
        for (int i = 0; i < 6; i++) {
            int cut = 1_000_000 + random.nextInt(all.length - 1_200_000);
            Path p = dir.resolve("cut" + i + ".pcap");
            Files.write(p, java.util.Arrays.copyOf(all, cut));
            Path buffer = dir.resolve("buffer" + i);
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> Samples.decode(p, buffer));
            List<CaptureRecord> records = Samples.records(buffer, VOLUME);
            assertTrue(records.stream().anyMatch(r -> r.kind() == RecordKind.GAP), "cut at " + cut);
            assertWritesAreTrue(records);
        }
    }

    @Test
    void captureJoinedMidTransferStartsWithAWholeVolumeGapThenDecodesTheRest() throws Exception {
        PcapFile pcap = PcapFile.read(Samples.file("sample_default.pcap"));
        List<byte[]> tail = pcap.records().subList(pcap.records().size() / 3, pcap.records().size());
        Path p = dir.resolve("mid.pcap");
        pcap.write(p, tail);
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> Samples.decode(p, dir.resolve("buffer")));
        // The qemu-img session was joined mid-stream, its login unseen: its volume is named after the portal
        // and starts with a whole-volume GAP; no write of it is trusted without its command and response.
        String portalVolume = "127.0.0.1_" + Samples.ISCSI_PORT + "-lun1";
        List<CaptureRecord> joined = Samples.records(dir.resolve("buffer"), portalVolume);
        assertEquals(RecordKind.GAP, joined.get(0).kind());
        assertEquals(0, joined.get(0).offsetBytes());
        assertWritesAreTrue(joined);
        // The qemu-io session starts after the cut: all 200 random writes, no gap.
        List<CaptureRecord> whole = Samples.records(dir.resolve("buffer"), VOLUME);
        assertEquals(200, whole.stream().filter(r -> r.kind() == RecordKind.WRITE).count());
        assertEquals(0, whole.stream().filter(r -> r.kind() == RecordKind.GAP).count());
        assertWritesAreTrue(whole);
    }

    @Test
    void flippedBytesNeverCrashOrHang() throws Exception {
        byte[] all = Files.readAllBytes(Samples.file("sample_default.pcap"));
        Random random = new Random(11);
        for (int trial = 0; trial < 5; trial++) {
            byte[] damaged = all.clone();
            for (int i = 0; i < 40; i++) {
                int at = 24 + random.nextInt(damaged.length - 24);
                damaged[at] ^= (byte) (1 + random.nextInt(255));
            }
            Path p = dir.resolve("flip" + trial + ".pcap");
            Files.write(p, damaged);
            Path buffer = dir.resolve("fbuffer" + trial);
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> Samples.decode(p, buffer));
        }
    }

    /** Every random 4 KiB write that was captured carries its pattern (the sequential ones are random data). */
    private static void assertWritesAreTrue(List<CaptureRecord> records) throws Exception {
        List<long[]> cmds = SampleCapturesTest.patternLines(Samples.file("sample_default.rand_cmds.txt"));
        for (CaptureRecord r : records) {
            if (r.kind() != RecordKind.WRITE || r.lengthBytes() != 4096) {
                continue;
            }
            long[] cmd = cmds.stream().filter(c -> c[0] == r.offsetBytes()).findFirst().orElseThrow();
            for (byte b : r.payload()) {
                assertEquals((byte) cmd[1], b);
            }
        }
    }
}
