package io.tapline.snoop.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The capture-to-decode queue: every frame offered and accepted comes out once, in order, byte
 * for byte with its lengths and time, across slab boundaries and slab reuse, with the producer
 * and consumer on two threads; a full queue refuses (and counts) instead of waiting; the end is
 * seen only after the last frame.
 */
class FrameQueueTest {

    private static byte[] frame(Random r, int length, int index) {
        byte[] b = new byte[length];
        r.nextBytes(b);
        if (length >= 4) {
            b[0] = (byte) (index >>> 24);
            b[1] = (byte) (index >>> 16);
            b[2] = (byte) (index >>> 8);
            b[3] = (byte) index;
        }
        return b;
    }

    @Test
    void framesComeOutInOrderAcrossSlabsAndThreads() throws Exception {
        FrameQueue q = new FrameQueue(3L * FrameQueue.SLAB_BYTES); // three slabs, reused many times
        int count = 6000;
        List<byte[]> sent = new ArrayList<>();
        Random r = new Random(7);
        for (int i = 0; i < count; i++) {
            // sizes from a bare header to 256 KiB, so that slabs end at every kind of remainder
            int len = i % 97 == 0 ? 262144 : i % 5 == 0 ? 0 : 54 + r.nextInt(65536);
            sent.add(frame(r, len, i));
        }
        List<byte[]> got = new ArrayList<>();
        List<long[]> meta = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread consumer = new Thread(() -> {
            try {
                while (q.drain((buf, off, len, orig, ts) -> {
                    got.add(Arrays.copyOfRange(buf, off, off + len));
                    meta.add(new long[] {orig, ts});
                }, 50) > 0 || !q.ended()) {
                    // keep draining
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        consumer.start();
        int refused = 0;
        for (int i = 0; i < count; i++) {
            byte[] f = sent.get(i);
            while (!q.offer(f, f.length + 7, 1_000_000_000L * i + 3)) {
                refused++; // the test's producer retries; the capture thread would count a drop
                Thread.onSpinWait();
            }
        }
        q.close();
        consumer.join(60_000);
        assertFalse(consumer.isAlive(), "the consumer saw the end");
        assertEquals(null, failure.get());
        assertEquals(count, got.size());
        for (int i = 0; i < count; i++) {
            assertArrayEquals(sent.get(i), got.get(i), "frame " + i);
            assertEquals(sent.get(i).length + 7, meta.get(i)[0], "original length of frame " + i);
            assertEquals(1_000_000_000L * i + 3, meta.get(i)[1], "time of frame " + i);
        }
        assertEquals(refused, q.refusedFrames());
        assertEquals(0, q.queuedBytes());
        assertTrue(q.isEmpty());
        assertTrue(q.highWaterBytes() <= q.capacityBytes());
    }

    @Test
    void aFullQueueRefusesAndCountsWithoutWaiting() {
        FrameQueue q = new FrameQueue(FrameQueue.MIN_CAPACITY_BYTES); // two slabs
        byte[] f = new byte[65536];
        int accepted = 0;
        while (q.offer(f, f.length, 0)) {
            accepted++;
        }
        assertEquals(2 * (FrameQueue.SLAB_BYTES / (f.length + FrameQueue.HEADER_BYTES)), accepted);
        assertFalse(q.offer(f, f.length, 0));
        assertEquals(2, q.refusedFrames());
        assertEquals(2L * f.length, q.refusedBytes());
        assertEquals((long) accepted * (f.length + FrameQueue.HEADER_BYTES), q.queuedBytes());
        // the first slab, read to its end, is free again; the second is still being written
        int[] n = {0};
        q.drain((buf, off, len, orig, ts) -> n[0]++, 0);
        assertEquals(accepted, n[0]);
        assertTrue(q.offer(f, f.length, 0), "the first slab was recycled");
    }

    @Test
    void theEndComesOnlyAfterTheLastFrame() {
        FrameQueue q = new FrameQueue(FrameQueue.MIN_CAPACITY_BYTES);
        q.offer(new byte[100], 100, 1);
        q.close();
        int[] n = {0};
        assertEquals(1, q.drain((buf, off, len, orig, ts) -> n[0]++, 10));
        assertFalse(q.ended());
        assertEquals(0, q.drain((buf, off, len, orig, ts) -> n[0]++, 10));
        assertTrue(q.ended());
    }
}
