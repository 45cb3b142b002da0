package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.wedge.capture.FakeCaptureSink;
import io.tapline.nbd.NbdError;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Protocol abuse against a real server on loopback, while a second, well-behaved client keeps working. */
class WedgeServerAbuseTest {
    private static final long SIZE = 4 << 20;

    @TempDir
    Path dir;
    FakeCaptureSink sink;
    WedgeServer server;
    RawNbdClient good;
    long goodCookie;

    @BeforeEach
    void start() throws IOException {
        sink = new FakeCaptureSink();
        server = WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1",
                dir.resolve("primary.img"), SIZE, sink).withHandshakeTimeout(java.time.Duration.ofSeconds(2)));
        good = RawNbdClient.connected(server.boundAddress(), "vol1");
        assertGoodClientWorks();
    }

    @AfterEach
    void stop() throws IOException {
        assertGoodClientWorks();
        good.close();
        server.close();
    }

    private void assertGoodClientWorks() throws IOException {
        byte[] data = ("hello " + goodCookie).getBytes(StandardCharsets.UTF_8);
        long cookie = ++goodCookie;
        RawNbdClient.Reply r = good.write(cookie, 8192, data);
        assertEquals(new RawNbdClient.Reply(0, cookie), r);
        assertArrayEquals(data, good.read(++goodCookie, 8192, data.length));
    }

    @Test
    void silentClientIsDisconnectedAfterTheHandshakeTimeoutButIdleTransmissionIsNot() throws IOException {
        try (java.net.Socket silent = new java.net.Socket()) {
            silent.connect(server.boundAddress());
            silent.setSoTimeout(15_000);
            java.io.DataInputStream in = new java.io.DataInputStream(silent.getInputStream());
            in.readFully(new byte[18]); // NBDMAGIC, IHAVEOPT, handshake flags
            long start = System.nanoTime();
            assertEquals(-1, in.read(), "the server must close a client that never negotiates");
            assertTrue(System.nanoTime() - start >= 1_000_000_000L, "closed too early");
        }
        // @AfterEach then proves that the good client, idle in transmission all along, still works.
    }

    /** The handshake timeout (2 s here) runs from the connection, not from the client's last byte. */
    @Test
    void aClientThatKeepsNegotiatingIsDisconnectedAtTheHandshakeTimeoutToo() throws IOException {
        try (RawNbdClient c = new RawNbdClient(server.boundAddress())) {
            long start = System.nanoTime();
            boolean closed = false;
            while (!closed && System.nanoTime() - start < 10_000_000_000L) {
                try {
                    c.option(3, new byte[0]); // NBD_OPT_LIST, answered, again and again
                    c.readOptionReply();
                    c.readOptionReply();
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L); // a client's pace, not a wait for the server
                } catch (IOException e) {
                    closed = true;
                }
            }
            assertTrue(closed, "still negotiating after 10 s");
        }
    }

    /**
     * Unknown export names asked again and again by one connection: one INFO line for the
     * connection, names quoted short and on one line, and the error reply short too (probe U D2:
     * 16 KiB names logged in full, 472 MiB of log in 5 s from one connection).
     */
    @Test
    void unknownExportNamesAskedAgainAndAgainAreLoggedOncePerConnectionAndQuotedShort() throws IOException {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                NbdNegotiationHandler.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
                new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        String name = "x\n".repeat(2000);
        try (RawNbdClient c = new RawNbdClient(server.boundAddress())) {
            for (int i = 0; i < 50; i++) {
                RawNbdClient.OptionReply r = c.go(name + i);
                assertEquals(0x80000006, r.type(), "NBD_REP_ERR_UNKNOWN");
                assertTrue(r.data().length < 600, "reply of " + r.data().length + " bytes");
            }
        } finally {
            logger.detachAppender(lines);
        }
        java.util.List<String> info = lines.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.INFO))
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
        assertEquals(1, info.size(), info.toString());
        assertTrue(info.get(0).length() < 700 && !info.get(0).contains("\n"), info.get(0));
        assertTrue(info.get(0).contains("x\\u000ax\\u000a") && info.get(0).contains("... (4001 characters)"), info.get(0));
    }

    @Test
    void badRequestMagicDisconnectsOnlyThatClient() throws IOException {
        try (RawNbdClient bad = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            bad.out.writeInt(0x12345678);
            bad.out.write(new byte[24]);
            bad.out.flush();
            assertTrue(bad.closedByServer());
        }
    }

    @Test
    void garbageAfterHandshakeDisconnects() throws IOException {
        try (RawNbdClient bad = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            byte[] junk = new byte[4096];
            new java.util.Random(5).nextBytes(junk);
            bad.out.write(junk);
            bad.out.flush();
            assertTrue(bad.closedByServer());
        }
    }

    @Test
    void outOfRangeRequestsGetSpecErrorsAndKeepTheConnection() throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            c.request(0, 1, 1, SIZE - 1, 2, new byte[2]);
            assertEquals(new RawNbdClient.Reply(NbdError.ENOSPC.wireValue(), 1), c.readReply(0, null));
            c.request(0, 0, 2, SIZE, 1, null);
            assertEquals(new RawNbdClient.Reply(NbdError.EINVAL.wireValue(), 2), c.readReply(0, null));
            c.request(0, 4, 3, -1L, 1, null);
            assertEquals(new RawNbdClient.Reply(NbdError.EINVAL.wireValue(), 3), c.readReply(0, null));
            c.request(0, 99, 4, 0, 1, null);
            assertEquals(new RawNbdClient.Reply(NbdError.EINVAL.wireValue(), 4), c.readReply(0, null));
            assertEquals(new RawNbdClient.Reply(0, 5), c.write(5, 0, new byte[] {1}));
        }
    }

    @Test
    void hugeWriteIsConsumedAndRefusedWithEinval() throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            int length = (32 << 20) + 1;
            c.request(0, 1, 7, 0, length, new byte[length]);
            assertEquals(new RawNbdClient.Reply(NbdError.EINVAL.wireValue(), 7), c.readReply(0, null));
            assertEquals(new RawNbdClient.Reply(0, 8), c.write(8, 0, new byte[] {2}));
        }
    }

    @Test
    void disconnectMidWriteLeavesNothingCaptured() throws IOException {
        int before = sink.records().size();
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            c.request(0, 1, 1, 0, 65536, new byte[1000]);
        }
        assertGoodClientWorks();
        assertEquals(before + 1, sink.records().size(), "only the good client's write was captured");
    }

    @Test
    void unknownExportAtGoGetsErrUnknownAndListNamesTheExport() throws IOException {
        try (RawNbdClient c = new RawNbdClient(server.boundAddress())) {
            assertEquals(0x80000006, c.go("nope").type());
            c.option(3, new byte[0]);
            RawNbdClient.OptionReply server = c.readOptionReply();
            assertEquals(2, server.type());
            assertEquals("vol1", new String(server.data(), 4, server.data().length - 4, StandardCharsets.UTF_8));
            assertEquals(1, c.readOptionReply().type());
            c.option(8, new byte[0]); // STRUCTURED_REPLY is not offered
            assertEquals(0x80000001, c.readOptionReply().type());
            c.option(2, new byte[0]);
            assertEquals(1, c.readOptionReply().type());
            assertTrue(c.closedByServer());
        }
    }

    /**
     * proto.md: the option length lets a server skip what it does not take, and it errors inbound
     * options rather than disconnect (save for abuse): a 20 KB option is answered
     * NBD_REP_ERR_TOO_BIG and the negotiation goes on; a 4 GiB one is abuse.
     */
    @Test
    void anOptionTooLongToTakeIsSkippedAndAnsweredTooBigAnAbsurdOneDisconnects() throws IOException {
        try (RawNbdClient c = new RawNbdClient(server.boundAddress())) {
            c.option(0x12345, new byte[20_000]);
            assertEquals(0x80000009, c.readOptionReply().type(), "NBD_REP_ERR_TOO_BIG");
            c.option(3, new byte[0]); // NBD_OPT_LIST still answered: the stream stayed in step
            assertEquals(2, c.readOptionReply().type());
            assertEquals(1, c.readOptionReply().type());
        }
        try (RawNbdClient c = new RawNbdClient(server.boundAddress())) {
            c.out.writeLong(0x49484156454F5054L); // IHAVEOPT
            c.out.writeInt(0x12345);
            c.out.writeInt(-1); // 4 GiB - 1
            c.out.flush();
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void badOptionMagicDisconnects() throws IOException {
        try (RawNbdClient c = new RawNbdClient(server.boundAddress())) {
            c.out.writeLong(0x1122334455667788L);
            c.out.writeLong(0);
            c.out.flush();
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void connectionsPastTheLimitAreClosedAtOnceAndTheOthersWork() throws IOException {
        System.setProperty(NbdEndpoint.MAX_CONNECTIONS_PROPERTY, "3");
        WedgeServer small;
        try {
            small = WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol2",
                    dir.resolve("small.img"), SIZE, new FakeCaptureSink()));
        } finally {
            System.clearProperty(NbdEndpoint.MAX_CONNECTIONS_PROPERTY);
        }
        try (small; RawNbdClient a = RawNbdClient.connected(small.boundAddress(), "vol2");
                RawNbdClient b = RawNbdClient.connected(small.boundAddress(), "vol2");
                RawNbdClient c = RawNbdClient.connected(small.boundAddress(), "vol2")) {
            assertThrows(IOException.class, () -> RawNbdClient.connected(small.boundAddress(), "vol2"),
                    "the fourth is closed before its handshake");
            assertEquals(new RawNbdClient.Reply(0, 1), a.write(1, 0, new byte[] {1, 2, 3}));
            c.close();
            long deadline = System.nanoTime() + 10_000_000_000L;
            RawNbdClient d = null;
            while (d == null && System.nanoTime() < deadline) {
                try {
                    d = RawNbdClient.connected(small.boundAddress(), "vol2"); // once the server saw c close
                } catch (IOException e) {
                    java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
                }
            }
            assertTrue(d != null, "a connection is accepted again below the limit");
            assertArrayEquals(new byte[] {1, 2, 3}, d.read(2, 0, 3));
            d.close();
        }
    }

    /**
     * One connection pipelines 200 READs of the whole volume in one burst and takes no reply: the
     * requests decoded from that burst wait on the connection, so only its limit's worth of reply
     * buffers is ever taken (they all took one at once: 6 GiB of direct memory, ENOMEM, and other
     * hosts' reads queued behind them on the shared readers), and another client is served.
     */
    @Test
    void aBurstOfPipelinedReadsTakesOnlyTheConnectionsLimitOfReplyBuffers() throws IOException {
        try (RawNbdClient flood = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            int n = 200;
            for (int i = 0; i < n; i++) {
                flood.request(0, 0, 1000 + i, 0, SIZE, null);
            }
            for (int round = 0; round < 5; round++) {
                assertGoodClientWorks(); // served while the flood waits
            }
            byte[] into = new byte[(int) SIZE];
            for (int i = 0; i < n; i++) {
                assertEquals(0, flood.readReply((int) SIZE, into).error(), "reply " + i);
            }
        }
        long peak = server.readReplyBytesPeak();
        // bounded per connection: its 64 MiB of reads in flight, the replies its outbound buffer may
        // hold (48 MiB, the write-buffer high-water mark) and one more read; 800 MiB before
        assertTrue(peak <= (64L << 20) + (48L << 20) + SIZE, "reply bytes held at once: " + (peak >> 20) + " MiB");
    }

    @Test
    void manyPipelinedReadsNotTakenByTheClientAreAllAnsweredWhenItReads() throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            int n = 200; // 200 x 1 MiB asked at once, 50 times the connection's limit of bytes in flight
            for (int i = 0; i < n; i++) {
                c.request(0, 0, 100 + i, (long) (i % 4) << 20, 1 << 20, null);
            }
            byte[] into = new byte[1 << 20];
            java.util.Set<Long> answered = new java.util.TreeSet<>();
            for (int i = 0; i < n; i++) {
                RawNbdClient.Reply r = c.readReply(1 << 20, into); // in any order: reads run on a pool
                assertEquals(0, r.error(), "reply " + i + ": " + r);
                answered.add(r.cookie());
            }
            assertEquals(n, answered.size(), "every read answered once");
            assertEquals(100L, answered.iterator().next());
        }
    }

    @Test
    void discWithFuaOrARangeIsNotAnsweredAndCloses() throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            c.request(1, 0, 1, 0, 512, null); // READ with FUA: accepted (proto.md), the bit ignored
            assertEquals(new RawNbdClient.Reply(0, 1), c.readReply(512, new byte[512]));
            c.request(1, 2, 2, 0, 0, null); // DISC with FUA
            assertTrue(c.closedByServer(), "closed, with no reply");
        }
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            c.request(0, 2, 3, 4096, 512, null); // DISC with a range (a client MUST NOT, the server still closes)
            assertTrue(c.closedByServer(), "closed, with no reply");
        }
        assertGoodClientWorks();
    }

    @Test
    void discAnswersInFlightWritesThenCloses() throws IOException {
        try (RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            byte[] data = new byte[1 << 20];
            Arrays.fill(data, (byte) 0x5a);
            c.request(1, 1, 1, 0, data.length, data); // FUA
            c.request(0, 2, 2, 0, 0, null);
            assertEquals(new RawNbdClient.Reply(0, 1), c.readReply(0, null));
            assertTrue(c.closedByServer());
        }
        byte[] onDisk = new byte[16];
        try (var ch = java.nio.channels.FileChannel.open(dir.resolve("primary.img"))) {
            ch.read(ByteBuffer.wrap(onDisk), 0);
        }
        assertEquals((byte) 0x5a, onDisk[15]);
        assertTrue(Files.size(dir.resolve("primary.img")) == SIZE);
    }

    /**
     * Clients that send large WRITE headers and hold back the payloads no longer fill the heap (probe E,
     * E6: 230 of them took 6 GiB and the event loops threw OutOfMemoryError): a header whose payload does
     * not fit in the process's room waits, and the holders whose payloads stalled are disconnected so that
     * it can go on. The room is 2 MiB here, the stall timeout 2 s.
     */
    @Test
    void payloadsHeldBackDoNotFillTheHeapAndAStalledHolderMakesRoom() throws Exception {
        io.tapline.wedge.nbd.PayloadRoom room = io.tapline.wedge.nbd.PayloadRoom.shared();
        java.time.Duration stall = room.stallTimeout();
        long mib = 1 << 20;
        room.configure(2 * mib, java.time.Duration.ofSeconds(2));
        try (RawNbdClient a = RawNbdClient.connected(server.boundAddress(), "vol1");
                RawNbdClient b = RawNbdClient.connected(server.boundAddress(), "vol1");
                RawNbdClient c = RawNbdClient.connected(server.boundAddress(), "vol1")) {
            room.resetPeak();
            fillTheRoom(room, a, b);
            byte[] data = new byte[(int) mib];
            Arrays.fill(data, (byte) 0x7c);
            var victim = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return c.write(7, 2 * mib, data);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            assertEquals(new RawNbdClient.Reply(0, 7), victim.get(30, java.util.concurrent.TimeUnit.SECONDS),
                    "the waiting write completes once the stalled holders are gone");
            assertTrue(a.closedByServer(), "a stalled holder is disconnected");
            assertTrue(b.closedByServer(), "a stalled holder is disconnected");
            assertTrue(room.peakBytes() <= 2 * mib, "peak " + room.peakBytes());
            assertArrayEquals(data, c.read(8, 2 * mib, (int) mib));
            assertEquals(0, room.reservedBytes());
        } finally {
            room.configure(Runtime.getRuntime().maxMemory() / 4, stall);
        }
    }

    /**
     * A header waiting for room must not have its payload read meanwhile: Netty's decoder asks for a
     * read after one that decoded nothing, which took a waiting 32 MiB payload into its buffer,
     * outside the room (33,554,432 bytes let in within 4 s before; the socket buffers' few MB after).
     */
    @Test
    void aWritePayloadWaitingForRoomIsNotReadMeanwhile() throws Exception {
        io.tapline.wedge.nbd.PayloadRoom room = io.tapline.wedge.nbd.PayloadRoom.shared();
        java.time.Duration stall = room.stallTimeout();
        long mib = 1 << 20;
        room.configure(2 * mib, java.time.Duration.ofSeconds(60));
        FakeCaptureSink bigSink = new FakeCaptureSink();
        try (WedgeServer big = WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1",
                dir.resolve("big.img"), 64 * mib, bigSink));
                RawNbdClient a = RawNbdClient.connected(big.boundAddress(), "vol1");
                RawNbdClient b = RawNbdClient.connected(big.boundAddress(), "vol1");
                RawNbdClient c = RawNbdClient.connected(big.boundAddress(), "vol1")) {
            fillTheRoom(room, a, b);
            c.request(0, 1, 9, 8 * mib, 32 * mib, null);
            java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
            Thread writer = new Thread(() -> {
                byte[] chunk = new byte[64 << 10];
                try {
                    while (sent.get() < 32 * mib) {
                        c.out.write(chunk);
                        sent.addAndGet(chunk.length);
                    }
                } catch (IOException e) {
                    // closed by the test
                }
            });
            writer.start();
            long until = System.nanoTime() + 4_000_000_000L;
            while (System.nanoTime() < until) {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L); // watching the writer, not waiting on the server
            }
            assertTrue(sent.get() < 16 * mib, sent.get() + " bytes of the waiting payload were taken in");
            c.close();
            writer.join(10_000);
        } finally {
            room.configure(Runtime.getRuntime().maxMemory() / 4, stall);
        }
    }

    /** Each client sends a 1 MiB WRITE header and one byte of its payload, and holds: the 2 MiB room is full. */
    private static void fillTheRoom(io.tapline.wedge.nbd.PayloadRoom room, RawNbdClient... holders) throws IOException {
        long mib = 1 << 20;
        for (RawNbdClient holder : holders) {
            holder.request(0, 1, 1, 0, mib, null);
            holder.out.write(0x11);
            holder.out.flush();
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (room.reservedBytes() < holders.length * mib && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(holders.length * mib, room.reservedBytes(), "the holders' payloads reserved");
    }
}
