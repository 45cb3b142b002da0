package io.tapline.tools;

import com.fasterxml.jackson.databind.JsonNode;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks on volume images that may be large and sparse (the acceptance suite's 200 GiB volumes):
 * they read what the file holds, never its holes, using qemu-img, which asks the file system where
 * the data is ({@code SEEK_DATA}/{@code SEEK_HOLE}).
 */
final class SparseImages {
    private static final Duration PEER = Duration.ofMinutes(10);
    private static final int WINDOW = 16 << 20;

    private SparseImages() {
    }

    /** Whether the two images hold the same bytes ({@code qemu-img compare}: exit 0 same, 1 different). */
    static boolean sameBytes(Path a, Path b) throws IOException, InterruptedException {
        Peers.Result r = Peers.run(PEER, "qemu-img", "compare", "-q", "-f", "raw", "-F", "raw", a.toString(),
                b.toString());
        if (r.exitCode() > 1) {
            throw new IOException("qemu-img compare failed: " + r.output().trim());
        }
        return r.exitCode() == 0;
    }

    /** Asserts two images hold the same bytes. */
    static void assertSameBytes(Path expected, Path actual) throws IOException, InterruptedException {
        if (!sameBytes(expected, actual)) {
            String why = Peers.run(PEER, "qemu-img", "compare", "-f", "raw", "-F", "raw", expected.toString(),
                    actual.toString()).output().trim();
            throw new AssertionError(actual + " differs from " + expected + ": " + why);
        }
    }

    /** The ranges {@code [start, end)} of the image that hold data ({@code qemu-img map}). */
    static List<long[]> dataExtents(Path image) throws IOException, InterruptedException {
        JsonNode map = Json.mapper().readTree(Peers.ok(PEER, "qemu-img", "map", "--output=json", "-f", "raw",
                image.toString()));
        List<long[]> extents = new ArrayList<>();
        for (JsonNode e : map) {
            if (e.get("data").asBoolean()) {
                long start = e.get("start").asLong();
                extents.add(new long[] {start, start + e.get("length").asLong()});
            }
        }
        return extents;
    }

    /**
     * Whether {@code slot} (its length a power of two) occurs in the image at an offset that is a
     * multiple of its length, as a file's block does on a file system; holes are not read.
     */
    static boolean containsAligned(Path image, byte[] slot) throws IOException, InterruptedException {
        int n = slot.length;
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer window = ByteBuffer.allocate(WINDOW);
            for (long[] extent : dataExtents(image)) {
                for (long pos = extent[0] / n * n; pos < extent[1]; pos += WINDOW) {
                    window.clear();
                    window.limit((int) Math.min(WINDOW, extent[1] + n - pos));
                    while (window.hasRemaining() && ch.read(window, pos + window.position()) > 0) {
                        // read the window or up to the end of the file
                    }
                    byte[] a = window.array();
                    for (int i = 0; i + n <= window.position(); i += n) {
                        if (Arrays.equals(a, i, i + n, slot, 0, n)) {
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }
}
