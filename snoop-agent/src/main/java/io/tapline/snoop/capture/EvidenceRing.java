package io.tapline.snoop.capture;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --write-pcap}: keeps what the live capture saw in a bounded ring of pcap files
 * ({@link PcapRingFiles}) for auditors, written by a thread of its own so that the capture thread
 * never waits for the disk.
 *
 * <p>Hand-off contract: {@link #frame} (the capture thread) only queues the frame array Pcap4J
 * already allocated for the packet (no copy); when the queue holds {@code maxQueuedBytes} or its
 * frame slots are full, the frame is left out of the ring and counted in {@link #droppedFrames()}
 * (WARN at most every 10 s). The ring is evidence, not the capture: the decoder still gets every
 * frame, so a slow disk costs ring completeness, never replication.
 *
 * <p>A write error stops the ring (ERROR once, {@link #failure()}); capture goes on.
 *
 * <p>Thread-safety: {@link #frame} from the capture thread, {@link #close} and the counters from
 * any.
 */
public final class EvidenceRing implements PcapCapture.FrameTap, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EvidenceRing.class);
    private static final int QUEUE_FRAMES = 1 << 16;
    private static final long WARN_EVERY_NANOS = 10_000_000_000L;

    private record Frame(byte[] data, int originalLength, long timeNanos) {
    }

    private final PcapRingFiles files;
    private final long maxQueuedBytes;
    private final BlockingQueue<Frame> queue = new ArrayBlockingQueue<>(QUEUE_FRAMES);
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final Thread writer;
    private volatile boolean closing;
    private volatile String failure;

    private EvidenceRing(PcapRingFiles files, long maxQueuedBytes) {
        this.files = files;
        this.maxQueuedBytes = maxQueuedBytes;
        this.writer = new Thread(this::drain, "snoop-write-pcap");
        this.writer.setDaemon(true);
    }

    /**
     * Starts a ring in {@code dir}.
     *
     * @param maxFileBytes   size of one file
     * @param maxFiles       files kept
     * @param linkType       the live capture's link type
     * @param snaplenBytes   the live capture's snapshot length, for the file headers
     * @param maxQueuedBytes frames waiting for the disk before new ones are left out
     */
    public static EvidenceRing start(Path dir, long maxFileBytes, int maxFiles, int linkType, int snaplenBytes,
            long maxQueuedBytes) throws IOException {
        EvidenceRing ring = new EvidenceRing(new PcapRingFiles(dir, maxFileBytes, maxFiles, linkType, snaplenBytes),
                maxQueuedBytes);
        ring.writer.start();
        return ring;
    }

    @Override
    public void frame(int linkType, byte[] frame, int originalLength, long timeNanos) {
        if (failure != null || closing) {
            dropped.incrementAndGet();
            return;
        }
        if (queuedBytes.get() + frame.length > maxQueuedBytes || !queue.offer(new Frame(frame, originalLength, timeNanos))) {
            dropped.incrementAndGet();
            return;
        }
        queuedBytes.addAndGet(frame.length);
    }

    private void drain() {
        long lastWarn = 0;
        long droppedWarned = 0;
        try {
            while (true) {
                Frame f = queue.poll(100, TimeUnit.MILLISECONDS);
                if (f == null) {
                    files.flush(); // idle: make what was written readable (tshark -r on the newest file)
                    if (closing && queue.isEmpty()) {
                        break;
                    }
                } else {
                    queuedBytes.addAndGet(-f.data.length);
                    files.append(f.data, f.originalLength, f.timeNanos);
                    written.incrementAndGet();
                }
                long d = dropped.get();
                if (d > droppedWarned && System.nanoTime() - lastWarn > WARN_EVERY_NANOS) {
                    log.warn("write-pcap: frames left out of the evidence ring (disk slower than capture) count={} total={}",
                            d - droppedWarned, d);
                    droppedWarned = d;
                    lastWarn = System.nanoTime();
                }
            }
        } catch (IOException | RuntimeException e) {
            failure = e.toString();
            log.error("write-pcap: evidence ring stopped, capture goes on without it file={} error={}", files.current(),
                    e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                files.close();
            } catch (IOException e) {
                log.error("write-pcap: closing {} failed error={}", files.current(), e.toString());
            }
        }
    }

    /** Frames left out of the ring (queue full, or the ring failed). */
    public long droppedFrames() {
        return dropped.get();
    }

    /** Frames written to the ring's files. */
    public long writtenFrames() {
        return written.get();
    }

    /** Why the ring stopped writing, or null. */
    public String failure() {
        return failure;
    }

    /** Writes what is queued, closes the file and stops the writer (waits up to 10 s). */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        writer.join(10_000);
        log.info("write-pcap: evidence ring closed framesWritten={} framesLeftOut={} filesStarted={} newest={}",
                written.get(), dropped.get(), files.filesStarted(), files.current());
    }
}
