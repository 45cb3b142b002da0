package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.snoop.volume.VolumeKey;
import io.tapline.snoop.volume.VolumeNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The passive tap at line rate (issue "Passive tap at line rate"): writers at full speed on
 * {@code lo}, captured by {@code tapline snoop} with the same kernel buffer as {@code tcpdump -B
 * 65536}: no packet dropped, no GAP record, every replica byte-identical to its LUN or export.
 * Each test of one writer first writes the same amount under tcpdump in the same run, so that its figures
 * (printed, and kept in the test's output) show the writer's rate with each tap; the rates are
 * reported, not asserted (a timed assertion on a shared 2-core machine is noise), the drops are.
 * Needs root, tgt, qemu-utils, qemu-block-extra, nbdkit, libnbd-bin and tcpdump.
 */
class SnoopLineRateIT {
    private static final String IQN = "iqn.2024-01.test.tapline:linerate";
    /** The fast session of tgtd: 256 KiB PDUs, unsolicited data, header digests. */
    private static final List<String> TUNED = List.of("MaxRecvDataSegmentLength=262144", "InitialR2T=No",
            "ImmediateData=Yes", "FirstBurstLength=262144", "MaxBurstLength=1048576", "HeaderDigest=CRC32C");
    private static final String DIGEST = "header-digest=crc32c";
    private static final int WRITE_BYTES = 320 << 20;
    private static final long LUN_BYTES = WRITE_BYTES + (16L << 20);
    /** As tcpdump -B 65536 (KiB). */
    private static final String KERNEL_BUFFER = "64M";
    private static final Duration PEER = SnoopRig.PEER;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void tunedSessionAtFullSpeedIsCapturedWithoutADropBesideTcpdump() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun = dir.resolve("lun1.img");
            rig.startTgtd(port, IQN, List.of(lun), LUN_BYTES, TUNED);
            Path first = rig.randomFile("first.bin", WRITE_BYTES, 1);
            Path second = rig.randomFile("second.bin", WRITE_BYTES, 2);

            double underTcpdump = underLosslessTcpdump(rig, port, "65536", () -> timedConvert(first, port, 1));

            rig.startReplayer();
            rig.startSnoop(port, "--capture-buffer", KERNEL_BUFFER);
            double underSnoop = timedConvert(second, port, 1);
            long snoopDrops = dropsAfterWrite(rig);
            System.out.printf("line rate, tuned tgtd session, %d MiB: writer %.0f MB/s under tcpdump (no drop),"
                    + " %.0f MB/s under tapline snoop (%d drops), ratio %.2f%n", WRITE_BYTES >> 20, underTcpdump,
                    underSnoop, snoopDrops, underSnoop / underTcpdump);
            String stops = rig.snoopJvmStops(20);
            System.out.print(stops);
            assertEquals(0, snoopDrops, () -> "packets the snoop lost (kernel drops + decode queue refusals); tcpdump"
                    + " lost none\n" + rig.snoop().logText() + stops);
            rig.awaitReplicaEquals(volumeName(1), lun, Duration.ofMinutes(4)); // and no GAP record
        }
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void twoLunsWrittenAtOnceAtFullSpeedAreCapturedWithoutADrop() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path lun1 = dir.resolve("lun1.img");
            Path lun2 = dir.resolve("lun2.img");
            rig.startTgtd(port, IQN, List.of(lun1, lun2), LUN_BYTES / 2, TUNED);
            Path src1 = rig.randomFile("src1.bin", WRITE_BYTES / 2, 3);
            Path src2 = rig.randomFile("src2.bin", WRITE_BYTES / 2, 4);
            rig.startReplayer();
            rig.startSnoop(port, "--capture-buffer", KERNEL_BUFFER);
            Process w1 = rig.startPeer("writer1", convert(src1, port, 1).toArray(String[]::new));
            Process w2 = rig.startPeer("writer2", convert(src2, port, 2).toArray(String[]::new));
            for (Process w : List.of(w1, w2)) {
                assertTrue(w.waitFor(PEER.toMillis(), TimeUnit.MILLISECONDS) && w.exitValue() == 0,
                        "writer: " + Files.readString(dir.resolve((w == w1 ? "writer1" : "writer2") + ".log")));
            }
            long drops = dropsAfterWrite(rig);
            assertEquals(0, drops, () -> rig.snoop().logText() + jvmStops(rig));
            rig.awaitReplicaEquals(volumeName(1), lun1, Duration.ofMinutes(4));
            rig.awaitReplicaEquals(volumeName(2), lun2, Duration.ofMinutes(4));
        }
    }

    /**
     * nbdcopy reaches about 1 GB/s on {@code lo} here, where {@code tcpdump -B 65536} itself drops
     * packets: both taps get 256 MiB of kernel buffer (tcpdump -B 262144, the snoop's default).
     */
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void nbdcopyAtFullSpeedIsCapturedWithoutADropBesideTcpdump() throws Exception {
        int port = Peers.freePort();
        try (SnoopRig rig = new SnoopRig(dir)) {
            Path image = dir.resolve("export.img");
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(LUN_BYTES);
            }
            NbdHostTraffic.startNbdkit(rig, port, image);
            Path first = rig.randomFile("first.bin", WRITE_BYTES, 5);
            Path second = rig.randomFile("second.bin", WRITE_BYTES, 6);
            double underTcpdump = underLosslessTcpdump(rig, port, "262144", () -> timedNbdcopy(first, port));

            rig.startReplayer();
            rig.startSnoop(port, "--capture-buffer", "256M");
            double underSnoop = timedNbdcopy(second, port);
            long drops = dropsAfterWrite(rig);
            System.out.printf("line rate, nbdkit file + nbdcopy, %d MiB: writer %.0f MB/s under tcpdump (no drop),"
                    + " %.0f MB/s under tapline snoop (%d drops), ratio %.2f%n", WRITE_BYTES >> 20, underTcpdump,
                    underSnoop, drops, underSnoop / underTcpdump);
            assertEquals(0, drops, () -> "packets the snoop lost; tcpdump lost none\n" + rig.snoop().logText()
                    + jvmStops(rig));
            String volume = new VolumeNames(List.of()).name(VolumeKey.nbd("127.0.0.1:" + port, ""));
            rig.awaitReplicaEquals(volume, image, Duration.ofMinutes(4));
        }
    }

    private static double timedNbdcopy(Path src, int port) throws Exception {
        long start = System.nanoTime();
        Peers.ok(PEER, "nbdcopy", "--connections=4", "--requests=64", src.toString(), "nbd://127.0.0.1:" + port);
        return Files.size(src) / 1e6 / ((System.nanoTime() - start) / 1e9);
    }

    /**
     * The snoop's lost packets once its counters were rewritten after the write ended (the
     * kernel's drop counter is polled every 200 ms; the decode queue's refusals are counted with it).
     */
    private static long dropsAfterWrite(SnoopRig rig) throws Exception {
        long writeEnded = System.currentTimeMillis();
        Poll.until(Duration.ofSeconds(30), () -> "capture-status.json rewritten after the write", Poll.of(() -> {
            CaptureStatusFile c = CaptureStatusFile.read(rig.buffer());
            return c != null && c.updatedAtMillis() > writeEnded + 500;
        }));
        return CaptureStatusFile.read(rig.buffer()).drops();
    }

    /** The writer's rate in MB/s: one qemu-img convert of {@code src} to LUN {@code lun} at full speed. */
    private static double timedConvert(Path src, int port, int lun) throws Exception {
        long start = System.nanoTime();
        Peers.run(PEER, convert(src, port, lun)).orFail("qemu-img convert");
        return Files.size(src) / 1e6 / ((System.nanoTime() - start) / 1e9);
    }

    private static List<String> convert(Path src, int port, int lun) {
        return List.of("qemu-img", "convert", "-n", "-f", "raw", "--target-image-opts", src.toString(),
                "driver=iscsi,transport=tcp,portal=127.0.0.1:" + port + ",target=" + IQN + ",lun=" + lun + "," + DIGEST);
    }

    /**
     * The writer's rate under {@code tcpdump -B KiB -w /dev/null} on the test's port, from a run
     * in which tcpdump lost no packet: "zero drops wherever tcpdump has zero drops" needs a
     * lossless reference. tcpdump writes to /dev/null: its capture loop blocks on each write of its
     * file, so on this VM's disk a file made tcpdump itself drop under nbdcopy (3, 2,757 and 526
     * packets in three tries at 490-580 MB/s, against 0, 0 and 0 at 570-610 MB/s into /dev/null),
     * which measured the disk, not capture. Into /dev/null the writer is at least as fast, so the
     * reference is no easier. On two busy cores tcpdump still drops one now and then (seen in CI:
     * "1 packet dropped by kernel"): up to three tries; without a lossless one the test fails.
     */
    private double underLosslessTcpdump(SnoopRig rig, int port, String bufferKiB,
            java.util.concurrent.Callable<Double> writer) throws Exception {
        List<Long> drops = new java.util.ArrayList<>();
        for (int attempt = 1; attempt <= 3; attempt++) {
            Process tcpdump = rig.startPeer("tcpdump", "tcpdump", "-i", "lo", "-s", "0", "-B", bufferKiB, "-w",
                    "/dev/null", "tcp port " + port);
            Poll.until(SnoopRig.START, () -> "tcpdump listening", Poll.of(() ->
                    Files.readString(dir.resolve("tcpdump.log")).contains("listening on")));
            double rate = writer.call();
            tcpdump.destroy(); // SIGTERM: tcpdump prints its counters and exits
            assertTrue(tcpdump.waitFor(30, TimeUnit.SECONDS), "tcpdump exits");
            long lost = kernelDrops(Files.readString(dir.resolve("tcpdump.log")));
            if (lost == 0) {
                return rate;
            }
            drops.add(lost);
        }
        throw new AssertionError("tcpdump itself dropped packets in every reference run " + drops
                + ": this machine gives no lossless reference at this rate");
    }

    /** The snoop JVM's stops of 20 ms or more, for a failure's message (read only when it fails). */
    private static String jvmStops(SnoopRig rig) {
        try {
            return rig.snoopJvmStops(20);
        } catch (java.io.IOException e) {
            return "(snoop JVM log unreadable: " + e + ")";
        }
    }

    private static long kernelDrops(String tcpdumpLog) {
        // tcpdump says "1 packet dropped by kernel" in the singular
        Matcher m = Pattern.compile("(\\d+) packets? dropped by kernel").matcher(tcpdumpLog);
        assertTrue(m.find(), "tcpdump's counters: " + tcpdumpLog);
        return Long.parseLong(m.group(1));
    }


    private static String volumeName(int lun) {
        return SnoopRig.iscsiVolume(IQN, lun);
    }
}
