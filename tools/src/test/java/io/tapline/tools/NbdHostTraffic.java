package io.tapline.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * What the snoop tests' NBD host does and what they wait on: nbdkit serving an image (daemonised:
 * a foreground nbdkit dies with its launching shell here), a host's mix of writes through real
 * clients, and a capture file that stops growing.
 */
final class NbdHostTraffic {
    private static final Duration PEER = Duration.ofMinutes(3);

    private NbdHostTraffic() {
    }

    /** nbdkit serving {@code image} on 127.0.0.1:{@code port} with a pid file the rig stops it by. */
    static void startNbdkit(SnoopRig rig, int port, Path image) throws Exception {
        Path pidFile = rig.dir.resolve("nbdkit-" + port + ".pid");
        rig.ownPidFile(pidFile);
        Peers.ok(PEER, "nbdkit", "-P", pidFile.toString(), "--port", Integer.toString(port), "-i", "127.0.0.1",
                "file", image.toString());
        Poll.until(SnoopRig.START, () -> "nbdkit pid file " + pidFile, Poll.of(() ->
                Files.exists(pidFile) && Files.size(pidFile) > 0));
    }

    /**
     * nbdcopy of {@code bytes} of random data (with a zeroed hole at 4-6 MiB) to the export on
     * {@code port}, then qemu-io writes, zeroes, discards and a flush; the source image goes in
     * {@code dir}.
     */
    static void write(Path dir, int port, long seed, long bytes) throws Exception {
        byte[] data = new byte[(int) bytes];
        new Random(seed).nextBytes(data);
        Arrays.fill(data, 4 << 20, 6 << 20, (byte) 0);
        Path src = dir.resolve("src-" + port + ".img");
        Files.write(src, data);
        String uri = "nbd://127.0.0.1:" + port;
        Peers.ok(PEER, "nbdcopy", "--connections=2", src.toString(), uri);
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        Random rnd = new Random(seed + 100);
        for (int i = 0; i < 60; i++) {
            long offset = (long) rnd.nextInt((int) (bytes / 4096 - 16)) * 4096;
            cmd.add("-c");
            cmd.add(switch (i % 20) {
                case 0 -> "write -z " + offset + " 64k";
                case 1 -> "discard " + offset + " 64k";
                default -> "write -P " + (1 + rnd.nextInt(255)) + " " + offset + " 4k";
            });
        }
        cmd.add("-c");
        cmd.add("flush");
        cmd.add(uri);
        Peers.run(PEER, cmd).orFail("qemu-io");
    }

    /** tcpdump -U writes each packet as it gets it: the capture is complete once the file stops growing. */
    static void awaitStableSize(Path file) throws InterruptedException {
        long[] last = {-1, System.nanoTime()};
        Poll.until(Duration.ofSeconds(60), () -> file + " still growing", Poll.of(() -> {
            long size = Files.size(file);
            if (size != last[0]) {
                last[0] = size;
                last[1] = System.nanoTime();
                return false;
            }
            return System.nanoTime() - last[1] > 1_000_000_000L;
        }));
    }
}
