package io.tapline.snoop.capture;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The hand-off between the live capture thread and the decode thread: captured frames, in
 * capture order, bounded by their bytes. The capture thread never waits here: a frame that does
 * not fit is refused and counted ({@link #refusedFrames()}), and the caller reports it as loss,
 * exactly as a kernel drop. Sized generously (hundreds of MiB), it carries the capture through
 * decode stalls (JIT compilation at start, a slow buffer append, a busy second core), which is
 * what made a capture that decoded on its own thread lose packets at line rate.
 *
 * <p>Frames are copied into slabs of {@link #SLAB_BYTES}, all allocated when the queue is made and
 * recycled (a ring of slabs): a queued frame is not a heap object, so a young collection has
 * nothing to copy however many frames wait, and its pauses, during which the capture thread is
 * stopped too, stay short. Allocated up front on purpose: slabs allocated during a burst were
 * "humongous allocations" that started a collection cycle each (pauses of 20-60 ms measured, each
 * one a kernel-ring overflow). The slabs are direct memory, outside the Java heap: as heap arrays,
 * the queue's hundreds of MiB, live for the whole run, kept the old generation above G1's
 * marking threshold of a heap that starts small, and every large array the shippers allocated
 * then started a marking cycle (14-51 stops of 20-70 ms during a 320 MiB capture, each stopping
 * the capture thread; docs/benchmarks.md#snoop-heap). The decode thread copies each frame from
 * its slab into one reused heap array before decoding it (about 5 us per 64 KiB frame).
 *
 * <p>One producer (the capture thread: {@link #offer}, {@link #close}) and one consumer (the
 * decode thread: {@link #drain}); lock-free between them.
 */
public final class FrameQueue {
    /** Size of one slab; a frame (at most 256 KiB + its header) never spans two. */
    static final int SLAB_BYTES = 8 << 20;
    /** The smallest queue: two slabs. */
    public static final long MIN_CAPACITY_BYTES = 2L * SLAB_BYTES;
    /** Per-frame header in a slab: captured length, original length, capture time. */
    static final int HEADER_BYTES = 16;

    /** Receives one queued frame; {@code buf} is only valid during the call (it is reused). */
    @FunctionalInterface
    public interface FrameConsumer {
        void frame(byte[] buf, int offset, int length, int originalLength, long timeNanos);
    }

    /**
     * Copies one frame's bytes into the queue: into {@code dst} (direct memory) at absolute index
     * {@code offset}, {@code length} bytes, without moving its position.
     */
    @FunctionalInterface
    public interface FrameCopier {
        void copy(ByteBuffer dst, int offset, int length);
    }

    /** One slab: the producer fills it up to {@code limit}; {@code sealed} once it moved on. */
    private static final class Slab {
        final ByteBuffer bytes = ByteBuffer.allocateDirect(SLAB_BYTES);
        volatile int limit;
        volatile boolean sealed;
        int readAt;
    }

    private final long capacityBytes;
    private final ConcurrentLinkedQueue<Slab> filled = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Slab> free = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private Slab writing;
    private volatile Thread waiting;
    private volatile boolean closed;
    private volatile boolean ended;
    private volatile long highWaterBytes;
    private volatile long refusedFrames;
    private volatile long refusedBytes;
    /** The decode thread's copy of the frame it hands out; grown to the largest frame seen. */
    private byte[] frameCopy = new byte[64 << 10];

    /**
     * @param capacityBytes the most bytes held at once (rounded down to whole slabs; at least
     *                      {@link #MIN_CAPACITY_BYTES}: the producer moves on to a free slab)
     */
    public FrameQueue(long capacityBytes) {
        if (capacityBytes < MIN_CAPACITY_BYTES) {
            throw new IllegalArgumentException("decode queue: " + capacityBytes + " bytes (expected: at least "
                    + MIN_CAPACITY_BYTES + ", two slabs of " + SLAB_BYTES + ")");
        }
        int maxSlabs = (int) Math.min(Integer.MAX_VALUE, capacityBytes / SLAB_BYTES);
        this.capacityBytes = (long) maxSlabs * SLAB_BYTES;
        try {
            for (int i = 0; i < maxSlabs; i++) {
                free.add(new Slab());
            }
        } catch (OutOfMemoryError e) { // direct memory: -XX:MaxDirectMemorySize, by default the heap's maximum
            free.clear();
            throw new IllegalArgumentException("decode queue: " + capacityBytes + " bytes do not fit in the JVM's"
                    + " direct memory (expected: at most -XX:MaxDirectMemorySize, by default -Xmx): " + e.getMessage(), e);
        }
    }

    /**
     * Copies a frame into the queue, or refuses it when the queue is full (never waits).
     *
     * @return whether the frame was queued
     */
    public boolean offer(byte[] data, int originalLength, long timeNanos) {
        return offer(data.length, originalLength, timeNanos,
                (dst, offset, length) -> dst.put(offset, data, 0, length));
    }

    /**
     * Queues a frame of {@code length} bytes that {@code copier} writes straight into the queue
     * (e.g. from libpcap's ring: one copy), or refuses it when the queue is full (never waits).
     *
     * @return whether the frame was queued
     */
    public boolean offer(int length, int originalLength, long timeNanos, FrameCopier copier) {
        int need = HEADER_BYTES + length;
        if (need > SLAB_BYTES || length < 0) {
            throw new IllegalArgumentException("frame of " + length + " bytes (expected: 0 to "
                    + (SLAB_BYTES - HEADER_BYTES) + ")");
        }
        Slab s = writing;
        if (s == null || s.limit + need > SLAB_BYTES) {
            Slab next = free.poll();
            if (next == null) {
                refusedFrames++;
                refusedBytes += length;
                return false;
            }
            next.limit = 0;
            next.readAt = 0;
            next.sealed = false;
            filled.add(next);
            if (s != null) {
                s.sealed = true; // after the next one is queued: the consumer finds it when this one ends
            }
            writing = s = next;
        }
        int at = s.limit;
        ByteBuffer b = s.bytes;
        b.putInt(at, length);
        b.putInt(at + 4, originalLength);
        b.putLong(at + 8, timeNanos);
        copier.copy(b, at + HEADER_BYTES, length);
        s.limit = at + need; // publishes the frame
        long now = queuedBytes.addAndGet(need);
        if (now > highWaterBytes) {
            highWaterBytes = now;
        }
        Thread w = waiting;
        if (w != null) {
            LockSupport.unpark(w);
        }
        return true;
    }

    /**
     * Hands queued frames, in order, to {@code consumer}; waits up to {@code timeoutMillis} when
     * none is queued.
     *
     * @return how many frames were handed over (0 on timeout or after the end: see {@link #ended})
     */
    public int drain(FrameConsumer consumer, long timeoutMillis) {
        int n = drainNow(consumer);
        if (n > 0) {
            return n;
        }
        boolean wasClosed = closed;
        waiting = Thread.currentThread();
        try {
            n = drainNow(consumer);
            if (n == 0 && !wasClosed) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
                n = drainNow(consumer);
            }
        } finally {
            waiting = null;
        }
        if (n == 0 && wasClosed) {
            ended = true; // closed before this drain found the queue empty: nothing more can come
        }
        return n;
    }

    private int drainNow(FrameConsumer consumer) {
        int n = 0;
        while (n < 4096) {
            Slab s = filled.peek();
            if (s == null) {
                return n;
            }
            boolean sealed = s.sealed; // read before limit: a sealed slab's limit is final
            int limit = s.limit;
            if (s.readAt >= limit) {
                if (!sealed) {
                    return n;
                }
                filled.poll();
                free.add(s);
                continue;
            }
            ByteBuffer b = s.bytes;
            int at = s.readAt;
            int length = b.getInt(at);
            if (frameCopy.length < length) {
                frameCopy = new byte[length];
            }
            b.get(at + HEADER_BYTES, frameCopy, 0, length);
            consumer.frame(frameCopy, 0, length, b.getInt(at + 4), b.getLong(at + 8));
            s.readAt = at + HEADER_BYTES + length;
            queuedBytes.addAndGet(-(HEADER_BYTES + length));
            n++;
        }
        return n;
    }

    /** Whether the queue was closed and every frame queued before was handed out. */
    public boolean ended() {
        return ended;
    }

    /** Marks the end after the frames queued so far (the producer's last call; never waits). */
    public void close() {
        closed = true;
        Thread w = waiting;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /** Frame bytes (with their 16-byte headers) waiting to be decoded. */
    public long queuedBytes() {
        return queuedBytes.get();
    }

    /** Whether any frame waits to be decoded. */
    public boolean isEmpty() {
        return queuedBytes.get() == 0;
    }

    /** The most bytes the queue held at once. */
    public long highWaterBytes() {
        return highWaterBytes;
    }

    /** Frames refused because the queue was full (each one is loss, reported like a kernel drop). */
    public long refusedFrames() {
        return refusedFrames;
    }

    /** Bytes of the refused frames. */
    public long refusedBytes() {
        return refusedBytes;
    }

    /** The most bytes the queue holds (whole slabs). */
    public long capacityBytes() {
        return capacityBytes;
    }
}
