import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a capture buffer's small appends cost the writing thread, three ways (docs/benchmarks.md#mapped-tail):
 * {@code write}: a gathering write of header + payload into a new 64 MiB segment file (the buffer today);
 * {@code mmap}: the segment extended sparse, mapped, and each record copied into the mapping (the writer
 * takes each new page's fault itself); {@code mmap-pop}: the same with a second thread touching each page
 * 8 MiB ahead of the writer, so that the writer copies into pages that already exist.
 * Prints appends per second and the writer thread's CPU per append.
 *
 * <p>Usage: {@code java bench/MappedAppend.java write|mmap|mmap-pop RECORD_BYTES TOTAL_MiB EMPTY_DIR}
 * (drop the page cache before each: {@code sync; echo 3 > /proc/sys/vm/drop_caches}).
 */
public class MappedAppend {
    public static void main(String[] a) throws Exception {
        String mode = a[0];
        int rec = Integer.parseInt(a[1]);
        long total = Long.parseLong(a[2]) << 20;
        long seg = 64L << 20;
        Path dir = Path.of(a[3]);
        ByteBuffer hdr = ByteBuffer.allocate(40);
        ByteBuffer payload = ByteBuffer.allocateDirect(rec);
        for (int i = 0; i < rec; i++) {
            payload.put(i, (byte) i);
        }
        ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
        long cpu0 = tmx.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        long written = 0;
        int segNo = 0;
        while (written < total) {
            Path p = dir.resolve("seg" + (segNo++));
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                long pos = 0;
                if (mode.equals("write")) {
                    ByteBuffer[] v = {hdr, payload};
                    while (pos + 40 + rec <= seg && written < total) {
                        hdr.clear();
                        payload.clear();
                        while (payload.hasRemaining()) {
                            ch.write(v);
                        }
                        pos += 40 + rec;
                        written += 40 + rec;
                    }
                    continue;
                }
                ch.write(ByteBuffer.wrap(new byte[1]), seg - 1); // extended sparse
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, 0, seg);
                AtomicLong writerAt = new AtomicLong();
                Thread toucher = null;
                if (mode.equals("mmap-pop")) {
                    toucher = new Thread(() -> {
                        for (long q = 0; q < seg; q += 4096) {
                            while (q > writerAt.get() + (8L << 20)) {
                                Thread.onSpinWait();
                            }
                            // A write fault: the kernel allocates, zeroes and maps the page writable here. (A bench:
                            // nothing reads the data back; the wedge's prototype used madvise(MADV_POPULATE_WRITE),
                            // which touches no byte.)
                            m.put((int) q, (byte) 0);
                        }
                    });
                    toucher.setDaemon(true);
                    toucher.start();
                }
                while (pos + 40 + rec <= seg && written < total) {
                    hdr.clear();
                    payload.clear();
                    m.put((int) pos, hdr, 0, 40);
                    m.put((int) pos + 40, payload, 0, rec);
                    pos += 40 + rec;
                    written += 40 + rec;
                    writerAt.lazySet(pos);
                }
                writerAt.set(Long.MAX_VALUE / 2);
                if (toucher != null) {
                    toucher.join();
                }
            }
        }
        long t1 = System.nanoTime();
        long cpu1 = tmx.getCurrentThreadCpuTime();
        long n = total / (40 + rec);
        System.out.printf("%s rec=%d: %.0f appends/s, writer CPU %.2f us per append, %.0f MB/s%n", mode, rec,
                n / ((t1 - t0) / 1e9), (cpu1 - cpu0) / 1e3 / n, total / ((t1 - t0) / 1e3));
    }
}
