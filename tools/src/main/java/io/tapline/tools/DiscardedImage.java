package io.tapline.tools;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Keeps the chunks a promoted replica wrote while it was primary before its source overwrites
 * them: a sparse image of the volume's size holding those chunks at their offsets (holes
 * elsewhere), written to a temporary name, made durable, then renamed, so the file either is
 * complete or absent. Nothing written by a host is thrown away silently.
 */
final class DiscardedImage {
    private static final int COPY_BYTES = 1 << 20;

    private DiscardedImage() {
    }

    /**
     * Copies {@code ranges} ({@code [offset, length]}, clamped to the volume) of {@code source}
     * into {@code target}.
     *
     * @return the bytes copied
     */
    static long write(Path source, long sizeBytes, List<long[]> ranges, Path target) throws IOException {
        ranges = merged(ranges, sizeBytes);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        long copied = 0;
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            out.truncate(0);
            ByteBuffer buf = ByteBuffer.allocateDirect(COPY_BYTES);
            for (long[] r : ranges) {
                long end = r[0] + r[1];
                for (long pos = r[0]; pos < end; ) {
                    buf.clear().limit((int) Math.min(COPY_BYTES, end - pos));
                    int n = in.read(buf, pos);
                    if (n <= 0) {
                        break;
                    }
                    buf.flip();
                    DurableFiles.writeFully(out, buf, pos);
                    pos += n;
                    copied += n;
                }
            }
            if (out.size() < sizeBytes) {
                // The last byte lies in no range (else the file would be that long): a zero, leaving a hole.
                DurableFiles.writeFully(out, ByteBuffer.allocate(1), sizeBytes - 1);
            }
            out.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp); // no half image left behind (probe O O7)
            throw DurableFiles.naming("writing " + tmp, e);
        }
        Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        DurableFiles.syncDirectory(target.getParent());
        return copied;
    }

    /** The ranges clamped to the volume, sorted, overlapping and touching ones merged. */
    static List<long[]> merged(List<long[]> ranges, long sizeBytes) {
        List<long[]> sorted = new java.util.ArrayList<>();
        for (long[] r : ranges) {
            long end = r[1] == Long.MAX_VALUE || r[0] + r[1] > sizeBytes ? sizeBytes : r[0] + r[1];
            if (r[0] < end) {
                sorted.add(new long[] {r[0], end});
            }
        }
        sorted.sort(java.util.Comparator.comparingLong(r -> r[0]));
        List<long[]> out = new java.util.ArrayList<>();
        for (long[] r : sorted) {
            long[] last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && r[0] <= last[0] + last[1]) {
                last[1] = Math.max(last[1], r[1] - last[0]);
            } else {
                out.add(new long[] {r[0], r[1] - r[0]});
            }
        }
        return out;
    }
}
