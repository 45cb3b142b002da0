package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.wedge.capture.CaptureSink;
import io.tapline.wedge.capture.FakeCaptureSink;
import io.tapline.nbd.NbdError;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link WedgeServer#standby}: fencing a running wedge while hosts write to it. */
class WedgeServerStandbyTest {
    private static final int BLOCK = 4096;
    private static final int BLOCKS_PER_WRITER = 512;
    private static final int WRITERS = 3;
    private static final long SIZE = (long) BLOCK * BLOCKS_PER_WRITER * WRITERS;

    @TempDir
    Path dir;
    FakeCaptureSink records = new FakeCaptureSink();
    HeldCaptureSink sink = new HeldCaptureSink(records);
    WedgeServer server;

    /** Passes appends to a {@link FakeCaptureSink}, or holds them (and so the writes) while {@link #hold} is on. */
    static final class HeldCaptureSink implements CaptureSink {
        private final FakeCaptureSink delegate;
        private volatile CountDownLatch gate = new CountDownLatch(0);
        final CountDownLatch held = new CountDownLatch(1);

        HeldCaptureSink(FakeCaptureSink delegate) {
            this.delegate = delegate;
        }

        void hold() {
            gate = new CountDownLatch(1);
        }

        void release() {
            gate.countDown();
        }

        @Override
        public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
                Provenance provenance, byte[] payload) throws IOException {
            CountDownLatch g = gate;
            if (g.getCount() > 0) {
                held.countDown();
                try {
                    g.await();
                } catch (InterruptedException e) {
                    throw new IOException("interrupted while held", e);
                }
            }
            return delegate.append(kind, offsetBytes, lengthBytes, flags, provenance, payload);
        }

        @Override
        public void sync() throws IOException {
            delegate.sync();
        }

        @Override
        public void fail(String reason) {
            delegate.fail(reason);
        }
    }

    @BeforeEach
    void start() throws IOException {
        server = WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1",
                dir.resolve("primary.img"), SIZE, sink));
    }

    @AfterEach
    void stop() throws IOException {
        sink.release(); // a failed test must not leave a write held: close() would wait for it
        server.close();
    }

    /** Block {@code b} of writer {@code w}: its own offset, and a non-zero pattern that names it. */
    private static byte[] block(int w, int b) {
        byte[] data = new byte[BLOCK];
        Arrays.fill(data, (byte) (1 + (w * BLOCKS_PER_WRITER + b) % 251));
        return data;
    }

    private static long offset(int w, int b) {
        return ((long) w * BLOCKS_PER_WRITER + b) * BLOCK;
    }

    /** Writes its blocks in order until the first EPERM; returns how many were answered OK. */
    private int writeUntilRefused(int w, AtomicInteger okTotal) throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            for (int b = 0; b < BLOCKS_PER_WRITER; b++) {
                RawNbdClient.Reply r = c.write(b, offset(w, b), block(w, b));
                if (r.error() == NbdError.EPERM.wireValue()) {
                    return b;
                }
                assertEquals(new RawNbdClient.Reply(0, b), r);
                okTotal.incrementAndGet();
            }
            return BLOCKS_PER_WRITER;
        }
    }

    @Test
    void standbyLetsAcceptedWritesFinishAndNoWriteLandsAfterItReturns() throws Exception {
        AtomicInteger okTotal = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
        List<Future<Integer>> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            writers.add(pool.submit(() -> writeUntilRefused(writer, okTotal)));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (okTotal.get() < 30 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        assertTrue(okTotal.get() >= 30, "writers got going");

        server.standby("fenced by generation 8");
        byte[] atReturn = Files.readAllBytes(dir.resolve("primary.img"));
        assertTrue(server.isStandby());

        int[] acknowledged = new int[WRITERS];
        for (int w = 0; w < WRITERS; w++) {
            acknowledged[w] = writers.get(w).get(20, TimeUnit.SECONDS);
            assertTrue(acknowledged[w] < BLOCKS_PER_WRITER, "writer " + w + " was refused before its end");
        }
        pool.shutdown();
        assertArrayEquals(atReturn, Files.readAllBytes(dir.resolve("primary.img")),
                "the primary did not change after standby() returned");
        for (int w = 0; w < WRITERS; w++) {
            for (int b = 0; b < BLOCKS_PER_WRITER; b++) {
                byte[] expected = b < acknowledged[w] ? block(w, b) : new byte[BLOCK];
                int from = (int) offset(w, b);
                assertArrayEquals(expected, Arrays.copyOfRange(atReturn, from, from + BLOCK),
                        "writer " + w + " block " + b + (b < acknowledged[w] ? " (acknowledged)" : " (refused)"));
            }
        }
        assertEquals(okTotal.get(), records.records().stream().filter(r -> r.kind() == RecordKind.WRITE).count(),
                "exactly the acknowledged writes were captured");
    }

    @Test
    void standbyReturnsOnlyAfterAnAcceptedWriteAndRefusesWritesMeanwhile() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (RawNbdClient a = RawNbdClient.connected(server.boundAddress(), "vol1");
                RawNbdClient b = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            sink.hold();
            a.request(0, 1, 1, 0, BLOCK, block(0, 1)); // accepted, then held in the capture append
            assertTrue(sink.held.await(10, TimeUnit.SECONDS), "the write reached the sink");
            Future<?> fencing = pool.submit(() -> server.standby("fenced by generation 8"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!server.isStandby() && System.nanoTime() < deadline) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            assertTrue(server.isStandby());

            assertEquals(new RawNbdClient.Reply(NbdError.EPERM.wireValue(), 2), b.write(2, BLOCK, block(0, 2)),
                    "a write after standby() began is refused at once, even while an older one is held");
            assertFalse(fencing.isDone(), "standby() must not return while an accepted write is in flight");

            sink.release();
            fencing.get(10, TimeUnit.SECONDS);
            assertEquals(new RawNbdClient.Reply(0, 1), a.readReply(0, null), "the accepted write completes normally");
        } finally {
            pool.shutdown();
        }
        byte[] primary = Files.readAllBytes(dir.resolve("primary.img"));
        assertArrayEquals(block(0, 1), Arrays.copyOfRange(primary, 0, BLOCK));
        assertArrayEquals(new byte[BLOCK], Arrays.copyOfRange(primary, BLOCK, 2 * BLOCK));
        assertEquals(1, records.records().size(), "only the accepted write was captured");
    }

    @Test
    void standbyRefusesReadsToo() throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            assertEquals(new RawNbdClient.Reply(0, 1), c.write(1, 0, new byte[] {9}));
            assertFalse(server.isStandby());
            server.standby("fenced");
            c.request(0, 0, 2, 0, 1, null);
            assertEquals(new RawNbdClient.Reply(NbdError.EPERM.wireValue(), 2), c.readReply(0, null));
            c.request(0, 2, 3, 0, 0, null);
            assertTrue(c.closedByServer(), "DISC still works");
        }
    }
}
