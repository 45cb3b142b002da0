package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The appliance's acceptance questions that no other test answers (docs/acceptance.md maps every
 * question to its test): the host's disk and a long run of file operations on ext4 (question 1
 * and 2), mirroring over a slow line (3) and a large sparse volume (9). Durations are system
 * properties: {@code tapline.acceptance.soakSeconds} (default 60; CI 60; the full run,
 * {@code -Pacceptance}, 48 hours).
 */
class AcceptanceIT {
    private static final Duration PEER = Duration.ofMinutes(3);
    private static final Duration CLI = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    /** Questions 1 and 2: the size the host sees, then file operations on ext4 for the soak time. */
    @Test
    void theHostSeesExactlyTheConfiguredDiskAndALongRunOfFileOperationsEndsInAVerifiedReplica() throws Exception {
        long size = ReplicationRig.LARGE_VOLUME_BYTES;
        long soakSeconds = Long.getLong("tapline.acceptance.soakSeconds", 60);
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            JsonNode info = Json.mapper().readTree(Peers.ok(PEER, "nbdinfo", "--json", rig.uri()));
            assertEquals(size, info.get("exports").get(0).get("export-size").asLong(), info.toString());
            Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P 0x5c " + (size - 65536) + " 64k", "-c",
                    "read -P 0x5c " + (size - 65536) + " 64k", rig.uri());
            Peers.Result beyond = Peers.run(PEER, "qemu-io", "-f", "raw", "-c", "write -P 1 " + size + " 4k", rig.uri());
            assertTrue(beyond.exitCode() != 0 || beyond.output().contains("failed"), "no byte past the end: "
                    + beyond.output());

            long operations;
            try (NbdfuseDisk host = NbdfuseDisk.attach(dir, "host", rig.uri())) {
                Peers.ok(PEER, "mkfs.ext4", "-q", "-F", host.device());
                Path mnt = host.mount(dir.resolve("mnt"));
                operations = new FileOperations(mnt, 7).runFor(Duration.ofSeconds(soakSeconds));
                host.unmount();
            }
            rig.awaitSynced(Duration.ofSeconds(300));
            rig.assertReplicaMatchesPrimary();
            Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString());
            TaplineProcess.run(CLI, "verify", "--buffer", rig.buffer().toString(), "--volume", "vol1")
                    .orFail("online verify");
            System.out.printf("acceptance 2: %d file operations in %d s, replica verified%n", operations, soakSeconds);
        }
    }

    /**
     * Question 4: the source restarts, and is killed, while the host keeps working on ext4. The
     * host reaches the wedge through qemu-nbd as a reconnecting NBD client ({@code reconnect-delay}),
     * as a host would through any client that retries: its I/O stalls while the wedge is away and
     * goes on. The replica equals the primary and fsck's clean before the restarts and after them.
     */
    @Test
    void theSourceRestartsAndIsKilledWhileTheHostKeepsWorking() throws Exception {
        long size = ReplicationRig.LARGE_VOLUME_BYTES;
        int proxyPort = Peers.freePort();
        try (ReplicationRig rig = new ReplicationRig(dir, size).start()) {
            Process client = new ProcessBuilder("qemu-nbd", "--persistent", "--shared=8", "-b", "127.0.0.1", "-p",
                    Integer.toString(proxyPort), "--image-opts", "driver=nbd,server.type=inet,server.host=127.0.0.1,"
                            + "server.port=" + rig.nbdAddress.getPort() + ",export=vol1,reconnect-delay=120")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
            try {
                Peers.awaitPort(proxyPort, Duration.ofSeconds(30));
                String uri = "nbd://127.0.0.1:" + proxyPort;
                try (NbdfuseDisk host = NbdfuseDisk.attach(dir, "before", uri)) {
                    Peers.ok(PEER, "mkfs.ext4", "-q", "-F", host.device());
                    new FileOperations(host.mount(dir.resolve("mnt")).resolve("before"), 41).runFor(Duration.ofSeconds(10));
                    host.unmount();
                }
                rig.awaitSynced(Duration.ofSeconds(120));
                rig.assertReplicaMatchesPrimary();
                Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString()); // before

                try (NbdfuseDisk host = NbdfuseDisk.attach(dir, "during", uri)) {
                    Path mnt = host.mount(dir.resolve("mnt"));
                    FileOperations ops = new FileOperations(mnt.resolve("during"), 42); // its own names
                    java.util.concurrent.CompletableFuture<Long> work = java.util.concurrent.CompletableFuture
                            .supplyAsync(() -> {
                                try {
                                    return ops.runFor(Duration.ofSeconds(40));
                                } catch (IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            });
                    awaitBusy(ops, 2_000); // the host is busy when the wedge goes
                    rig.wedge().close(); // a graceful restart
                    rig.startWedge();
                    awaitBusy(ops, ops.done() + 2_000); // and busy again before the crash
                    rig.wedge().kill9(); // a crash
                    rig.startWedge();
                    long operations = work.get(5, java.util.concurrent.TimeUnit.MINUTES); // every file reads back
                    host.unmount();
                    System.out.printf("acceptance 4: %d file operations across a restart and a kill -9 of the"
                            + " wedge%n", operations);
                }
                rig.awaitSynced(Duration.ofSeconds(180));
                rig.assertReplicaMatchesPrimary();
                Peers.ok(PEER, "e2fsck", "-fn", rig.replica().toString()); // after
            } finally {
                client.destroy();
                client.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
    }

    /** Question 3: a small volume mirrors over a slow line at no less than half its capacity. */
    @Test
    void aSmallVolumeMirrorsOverASlowLineAtHalfItsCapacityOrMore() throws Exception {
        long lineBytesPerSecond = 2_000_000 / 8; // a 2 Mbit/s line (T1-class and a little faster)
        int dataMib = 3;
        try (ReplicationRig rig = new ReplicationRig(dir, 32L << 20)) {
            rig.startReplayer();
            try (ShapedLine line = new ShapedLine(rig.linkAddress, lineBytesPerSecond);
                    TaplineProcess wedge = TaplineProcess.start(dir.resolve("wedge-line.log"), "wedge", "--nbd",
                            ReplicationRig.hostPort(rig.nbdAddress), "--export", "vol1", "--volume",
                            rig.primary().toString(), "--size", Long.toString(32L << 20), "--buffer",
                            rig.buffer().toString(), "--remote", ReplicationRig.hostPort(line.address()))
                            .awaitListening(rig.nbdAddress, ReplicationRig.START)) {
                Path data = HostWrites.randomFile(dir.resolve("data.img"), dataMib, 31); // random: LZ4 cannot shrink it
                rig.awaitSynced(Duration.ofSeconds(60)); // the link is up and idle
                long t0 = System.nanoTime();
                Peers.ok(PEER, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", data.toString(), rig.uri());
                rig.awaitSynced(Duration.ofSeconds(120));
                double seconds = (System.nanoTime() - t0) / 1e9;
                double ratio = (dataMib * (double) (1 << 20) / seconds) / lineBytesPerSecond;
                rig.assertReplicaMatchesPrimary();
                System.out.printf("acceptance 3: %d MiB over a %d kB/s line in %.1f s: %.2f of the line (line carried"
                        + " %d bytes)%n", dataMib, lineBytesPerSecond / 1000, seconds, ratio, line.carried());
                assertTrue(ratio >= 0.5, "mirrored at " + ratio + " of the line's capacity (expected: >= 0.5)");
            }
        }
    }

    /** Question 9: a 200 GiB sparse volume is neither scanned nor allocated to start, mirror or check. */
    @Test
    void aLargeSparseVolumeIsNeitherScannedNorAllocated() throws Exception {
        long size = 200L << 30;
        try (ReplicationRig rig = new ReplicationRig(dir, size)) {
            long t0 = System.nanoTime();
            rig.start();
            double startSeconds = (System.nanoTime() - t0) / 1e9;
            long[] offsets = {0, 100L << 30, size - (1 << 20)};
            for (int i = 0; i < offsets.length; i++) {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-c", "write -P " + (0x31 + i) + " " + offsets[i] + " 1M",
                        rig.uri());
            }
            rig.awaitSynced(Duration.ofSeconds(120));
            for (int i = 0; i < offsets.length; i++) {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-r", "-c", "read -P " + (0x31 + i) + " " + offsets[i] + " 1M",
                        rig.replica().toString());
            }
            long allocated = allocatedBytes(rig.replica()) + allocatedBytes(rig.primary()) + treeBytes(rig.buffer())
                    + treeBytes(dir.resolve("remote"));
            System.out.printf("acceptance 9: 200 GiB sparse volume, both sides up in %.1f s, %d MiB allocated in all%n",
                    startSeconds, allocated >> 20);
            assertTrue(allocated < (256L << 20), "allocated " + allocated + " bytes for a 200 GiB sparse volume");
            assertTrue(startSeconds < 60, "start took " + startSeconds + " s: something scans the volume");

            // kill -9 of the wedge: an unclean start tracks the activity log's hot extents (every
            // chunk without one), and the resync that compares them must read only what holds data
            // (holes are skipped via SEEK_DATA).
            rig.wedge().kill9();
            long t1 = System.nanoTime();
            rig.startWedge();
            rig.awaitSynced(Duration.ofSeconds(600));
            double resyncSeconds = (System.nanoTime() - t1) / 1e9;
            long wedgeRead = readBytes(rig.wedge().pid());
            long replayerRead = readBytes(rig.replayer().pid());
            for (int i = 0; i < offsets.length; i++) {
                Peers.ok(PEER, "qemu-io", "-f", "raw", "-r", "-c", "read -P " + (0x31 + i) + " " + offsets[i] + " 1M",
                        rig.replica().toString());
            }
            System.out.printf("acceptance 9: after kill -9, the resync of a 200 GiB volume in %.1f s, the wedge read"
                    + " %d MiB, the replayer %d MiB (all of it since start)%n", resyncSeconds, wedgeRead >> 20,
                    replayerRead >> 20);
            assertTrue(wedgeRead < (8L << 30) && replayerRead < (8L << 30), "the resync read " + wedgeRead + " / "
                    + replayerRead + " bytes of a 200 GiB volume holding 3 MiB: it scanned the holes");
        }
    }

    /** Bytes a process read through read(2) and friends since it started ({@code rchar} of /proc/PID/io). */
    private static long readBytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "io"))) {
            if (line.startsWith("rchar:")) {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new IOException("no rchar in /proc/" + pid + "/io");
    }

    /** Waits until the host has done {@code operations} file operations (it keeps working meanwhile). */
    private static void awaitBusy(FileOperations ops, long operations) throws InterruptedException {
        Poll.until(Duration.ofSeconds(60), () -> ops.done() + " file operations, expected " + operations,
                () -> ops.done() >= operations);
    }

    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        return Long.parseLong(Peers.ok(Duration.ofSeconds(30), "du", "-B1", file.toString()).split("\\s+")[0]);
    }

    private static long treeBytes(Path dir) throws IOException, InterruptedException {
        return Long.parseLong(Peers.ok(Duration.ofSeconds(30), "du", "-s", "-B1", dir.toString()).split("\\s+")[0]);
    }

    /**
     * Arbitrary file operations in a tree: create, append, overwrite in place, truncate, rename,
     * delete, fsync now and then; every file's content is kept in memory and checked at the end
     * (through the mounted file system: what the host reads back is what it wrote).
     */
    static final class FileOperations {
        private final Path root;
        private final Random rnd;
        private final List<Path> files = new ArrayList<>();
        private final java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();

        /** Operations done so far (readable while {@link #runFor} runs on another thread). */
        long done() {
            return done.get();
        }

        FileOperations(Path root, long seed) {
            this.root = root;
            this.rnd = new Random(seed);
        }

        long runFor(Duration d) throws IOException {
            long deadline = System.nanoTime() + d.toNanos();
            long n = 0;
            java.util.Map<Path, byte[]> expected = new java.util.HashMap<>();
            long total = 0;
            while (System.nanoTime() < deadline) {
                n = done.incrementAndGet();
                int op = rnd.nextInt(10);
                if (total > (96L << 20) && files.size() > 20) {
                    op = 8; // keep the file system (256 MiB) from filling up: delete
                }
                if (files.size() < 20 || op < 3) {
                    Path dirPath = Files.createDirectories(root.resolve("d" + rnd.nextInt(16)));
                    Path f = dirPath.resolve("f" + n);
                    byte[] content = bytes(rnd.nextInt(256 << 10));
                    Files.write(f, content);
                    files.add(f);
                    expected.put(f, content);
                    total += content.length;
                } else {
                    Path f = files.get(rnd.nextInt(files.size()));
                    byte[] old = expected.get(f);
                    switch (op) {
                        case 3, 4 -> { // append
                            byte[] more = bytes(rnd.nextInt(64 << 10));
                            Files.write(f, more, java.nio.file.StandardOpenOption.APPEND);
                            byte[] both = java.util.Arrays.copyOf(old, old.length + more.length);
                            System.arraycopy(more, 0, both, old.length, more.length);
                            expected.put(f, both);
                            total += more.length;
                        }
                        case 5 -> { // overwrite in place
                            if (old.length > 0) {
                                byte[] patch = bytes(Math.min(old.length, 1 + rnd.nextInt(16 << 10)));
                                int at = rnd.nextInt(old.length - patch.length + 1);
                                try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                                    ch.write(java.nio.ByteBuffer.wrap(patch), at);
                                }
                                System.arraycopy(patch, 0, old, at, patch.length);
                            }
                        }
                        case 6 -> { // truncate
                            int len = old.length == 0 ? 0 : rnd.nextInt(old.length);
                            try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                                ch.truncate(len);
                            }
                            expected.put(f, java.util.Arrays.copyOf(old, len));
                            total -= old.length - len;
                        }
                        case 7 -> { // rename
                            Path to = f.resolveSibling(f.getFileName() + "r");
                            Files.move(f, to);
                            files.set(files.indexOf(f), to);
                            expected.put(to, expected.remove(f));
                        }
                        case 8 -> { // delete
                            Files.delete(f);
                            files.remove(f);
                            total -= expected.remove(f).length;
                        }
                        default -> { // fsync a file
                            try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                                ch.force(true);
                            }
                        }
                    }
                }
            }
            for (java.util.Map.Entry<Path, byte[]> e : expected.entrySet()) {
                if (!java.util.Arrays.equals(e.getValue(), Files.readAllBytes(e.getKey()))) {
                    throw new AssertionError("file " + e.getKey() + " reads back other bytes than written");
                }
            }
            return n;
        }

        private byte[] bytes(int n) {
            byte[] b = new byte[n];
            rnd.nextBytes(b);
            return b;
        }
    }
}
