package io.tapline.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** What test hosts write through a wedge: qemu-io pattern writes, files of random data. */
final class HostWrites {
    private static final Duration PEER = Duration.ofMinutes(3);

    private HostWrites() {
    }

    /** {@code count} 4 KiB qemu-io writes of a pattern byte at random 4 KiB offsets of the volume, then a flush. */
    static void random4k(ReplicationRig rig, long volumeBytes, int count, int seed) throws Exception {
        random4k(rig.uri(), volumeBytes, count, seed);
    }

    /** The same through the export at {@code uri}. */
    static void random4k(String uri, long volumeBytes, int count, int seed) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        Random rnd = new Random(seed);
        for (int i = 0; i < count; i++) {
            long offset = (long) rnd.nextInt((int) (volumeBytes / 4096)) * 4096;
            cmd.add("-c");
            cmd.add("write -P " + (1 + rnd.nextInt(255)) + " " + offset + " 4k");
        }
        cmd.add("-c");
        cmd.add("flush");
        cmd.add(uri);
        Peers.run(PEER, cmd).orFail("qemu-io");
    }

    /** {@code n} random bytes from {@code seed}. */
    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A file of {@code mib} MiB of random bytes from {@code seed}. */
    static Path randomFile(Path file, int mib, long seed) throws Exception {
        byte[] block = new byte[1 << 20];
        Random random = new Random(seed);
        try (var out = Files.newOutputStream(file)) {
            for (int i = 0; i < mib; i++) {
                random.nextBytes(block);
                out.write(block);
            }
        }
        return file;
    }
}
