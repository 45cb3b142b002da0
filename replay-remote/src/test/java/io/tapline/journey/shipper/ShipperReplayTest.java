package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.replay.ReplayConfig;
import io.tapline.replay.ReplayServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipper against a real replayer on loopback, fed from an in-memory log. */
class ShipperReplayTest {
    private static final int SIZE = 4 << 20;
    private static final String VOLUME = "vol1";

    @TempDir
    Path data;
    private ReplayServer server;
    private Shipper shipper;
    private final MemoryLog log = new MemoryLog(VOLUME);
    private final byte[] expected = new byte[SIZE];
    private final Random random = new Random(42);

    @BeforeEach
    void startServer() throws IOException {
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data));
    }

    @AfterEach
    void stop() {
        if (shipper != null) {
            shipper.close();
        }
        server.close();
    }

    private ShipperConfig config(InetSocketAddress remote) {
        return ShipperConfig.of(remote, "src-a", VOLUME, SIZE, 4096).withMaxBatchBytes(64 << 10)
                .withMaxInFlightBatches(4).withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));
    }

    /** Appends {@code n} random write-nature records and mirrors them in {@link #expected}. */
    private void appendRandom(int n) {
        for (int i = 0; i < n; i++) {
            int kind = random.nextInt(20);
            int length = 1 + random.nextInt(32 << 10);
            int offset = random.nextInt(SIZE - length);
            if (kind == 0) {
                log.append(RecordKind.DISCARD, offset, length, 0, null);
                Arrays.fill(expected, offset, offset + length, (byte) 0);
            } else if (kind == 1) {
                log.append(RecordKind.WRITE_ZEROES, offset, length, CaptureRecord.FLAG_NO_HOLE, null);
                Arrays.fill(expected, offset, offset + length, (byte) 0);
            } else if (kind == 2) {
                log.append(RecordKind.FLUSH, 0, 0, 0, null);
            } else {
                byte[] payload = new byte[length];
                if (kind % 2 == 0) {
                    random.nextBytes(payload);
                } else {
                    Arrays.fill(payload, (byte) kind); // compressible
                }
                log.append(RecordKind.WRITE, offset, length, kind == 3 ? CaptureRecord.FLAG_FUA : 0, payload);
                System.arraycopy(payload, 0, expected, offset, length);
            }
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        io.tapline.replay.Await.until(Duration.ofSeconds(30), what, condition);
    }

    private void awaitAcked() {
        long last = log.lastSequence();
        await("ack of seq " + last, () -> shipper.status().lastAckedSequence() >= last);
        // The cursor is written on the shipper's ACK thread after the ACK is verified (AckRecorder).
        await("cursor at seq " + last, () -> log.acknowledged(shipper.config().cursorId()) >= last);
        assertEquals(last, log.acknowledged(shipper.config().cursorId()));
    }

    private byte[] replica() throws IOException {
        return Files.readAllBytes(data.resolve(VOLUME).resolve("replica.img"));
    }

    @Test
    void shipsRandomWritesUntilTheReplicaEqualsTheSource() throws Exception {
        shipper = Shipper.start(config(server.boundAddress()), log);
        appendRandom(400);
        awaitAcked();
        assertArrayEquals(expected, replica());
        ShipperStatus status = shipper.status();
        assertTrue(status.connected());
        assertEquals(400, status.lastSentSequence());
        assertEquals(0, status.reconnects());
        assertEquals(400, server.volumeStatus(VOLUME).orElseThrow().lastAppliedSequence());
        // Every batch acknowledged: the next heartbeat says none waits unapplied (one left counted would grow forever).
        long heardAt = System.nanoTime();
        await("a heartbeat saying nothing waits", () -> System.nanoTime() - heardAt > 1_500_000_000L
                && shipper.replicaState().unappliedForMillis() == 0);
    }

    /**
     * A clean stop tells the replica the source's last word only for a source whose stop ends its
     * host's writes (a wedge): a snoop's or a hop's stop says nothing, and a plain promotion then
     * refuses (probe s62 AF D2: a snoop's word let one lose a write the target acknowledged later).
     */
    @Test
    void onlyASourceThatSpeaksForItsHostLetsAPlainPromotionThrough() throws Exception {
        shipper = Shipper.start(config(server.boundAddress()), log);
        appendRandom(20);
        awaitAcked();
        shipper.close(); // a snoop's or a hop's shipper
        String silent = promote();
        assertTrue(silent.contains("did not say, as it stopped"), silent);
        shipper = Shipper.start(config(server.boundAddress()), log);
        shipper.sayLastWordOnStop(); // a wedge's
        await("the source connected again", () -> shipper.status().connected());
        shipper.close();
        String whole = promote();
        assertTrue(whole.contains("promoted to primary generation") && whole.contains("its source stopped cleanly"),
                whole);
    }

    /** A promotion without --force of the test's volume, once its source's session is gone; its answer. */
    private String promote() throws Exception {
        return io.tapline.replay.PlainPromotion.onceSourceGone(server.boundAddress(), VOLUME).message();
    }

    @Test
    void replayerDownForAWhileLosesNothing() throws Exception {
        InetSocketAddress address = server.boundAddress();
        shipper = Shipper.start(config(address), log);
        appendRandom(100);
        awaitAcked();
        server.close();
        await("link down", () -> !shipper.status().connected());
        appendRandom(150); // the host keeps writing while the replayer is away
        await("a few failed reconnects", () -> shipper.status().reconnects() >= 3);
        assertFalse(shipper.status().lastError().isEmpty());
        server = ReplayServer.start(ReplayConfig.of(address, data));
        awaitAcked();
        assertTrue(shipper.status().connected());
        assertArrayEquals(expected, replica());
    }

    @Test
    void restartedShipperResumesWithoutReapplying() throws Exception {
        shipper = Shipper.start(config(server.boundAddress()), log);
        appendRandom(120);
        awaitAcked();
        long applied = server.volumeStatus(VOLUME).orElseThrow().bytesApplied();
        shipper.close();
        shipper = Shipper.start(config(server.boundAddress()), log);
        await("reconnected", () -> shipper.status().connected());
        appendRandom(1);
        awaitAcked();
        long one = server.volumeStatus(VOLUME).orElseThrow().bytesApplied() - applied;
        CaptureRecord last = log.openReader(121).next(0);
        assertEquals(last.kind().changesData() ? last.lengthBytes() : 0, one, "only the new record was applied");
        assertArrayEquals(expected, replica());
    }

    @Test
    void replayerAheadOfTheBufferCursorMovesTheCursorAndSkipsRecords() throws Exception {
        shipper = Shipper.start(config(server.boundAddress()), log);
        appendRandom(50);
        awaitAcked();
        long applied = server.volumeStatus(VOLUME).orElseThrow().bytesApplied();
        shipper.close();
        log.resetCursor(config(server.boundAddress()).cursorId()); // as if the cursor's last update was lost
        shipper = Shipper.start(config(server.boundAddress()), log);
        await("cursor moved to the replayer's", () -> log.acknowledged(shipper.config().cursorId()) == 50);
        assertEquals(applied, server.volumeStatus(VOLUME).orElseThrow().bytesApplied(), "nothing re-applied");
        assertEquals(50, shipper.status().lastSentSequence());
    }

    @Test
    void refusedSessionIsRetriedAndReported() throws Exception {
        Files.createDirectories(data.resolve(VOLUME));
        Files.write(data.resolve(VOLUME).resolve("replica.img"), new byte[4096]);
        shipper = Shipper.start(config(server.boundAddress()), log);
        await("two refusals", () -> shipper.status().reconnects() >= 2);
        assertTrue(shipper.status().lastError().startsWith("refused by replayer: volume size mismatch"),
                shipper.status().lastError());
        assertFalse(shipper.status().connected());
    }

    @Test
    void replicaAheadOfTheWholeBufferIsNotShippedTo() throws Exception {
        shipper = Shipper.start(config(server.boundAddress()), log);
        appendRandom(10);
        awaitAcked();
        shipper.close();
        MemoryLog fresh = new MemoryLog(VOLUME);
        fresh.append(RecordKind.WRITE, 0, 1, 0, new byte[] {1});
        shipper = Shipper.start(config(server.boundAddress()), fresh);
        // Attempts repeat every 20..200 ms; any of them may end first for another reason (the
        // replayer closing the previous attempt's connection), so wait for the reason, not a count.
        await("refusal to ship", () -> shipper.status().lastError().contains("replica of volume vol1 is at seq 10 but "
                + "the capture buffer ends at seq 1"));
        assertEquals(10, server.volumeStatus(VOLUME).orElseThrow().lastAppliedSequence());
    }

    @Test
    void closeStopsPromptlyWhileDisconnected() throws Exception {
        InetSocketAddress address = server.boundAddress();
        server.close();
        shipper = Shipper.start(config(address), log);
        await("a failed attempt", () -> shipper.status().reconnects() >= 1);
        long start = System.nanoTime();
        shipper.close();
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
        shipper = null;
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data));
    }

    /**
     * A replayer that welcomes the source, reports its state with a heartbeat of 100 ms and then
     * falls silent (a hung process: its kernel keeps the connection and takes the bytes): the
     * session ends once it said nothing for the timeout, the status says why and that the link is
     * down, and the shipper reconnects.
     */
    @Test
    void replayerThatFallsSilentEndsTheSessionAfterTheSilenceTimeout() throws Exception {
        try (SilentReplayer silent = new SilentReplayer(100)) {
            shipper = Shipper.start(config(silent.address()), log, Duration.ofMillis(500).toNanos());
            await("welcomed", () -> shipper.status().connected());
            appendRandom(20);
            // the session ends (connected false) a moment before the shipping thread records why
            await("link down with its reason", () -> !shipper.status().connected()
                    && !shipper.status().lastError().isEmpty());
            assertTrue(shipper.status().lastError().startsWith("replayer not answering: nothing heard for "),
                    shipper.status().lastError());
            assertTrue(shipper.status().lastError().contains("(it reports every 100 ms; timeout 500 ms)"),
                    shipper.status().lastError());
            await("a new session", () -> silent.sessions() >= 2);
            assertEquals(0, shipper.status().lastAckedSequence());
        }
    }

    /**
     * A replayer that never announced a heartbeat (older than the heartbeat) is never taken for a
     * silent one: its silence says nothing, so the session stays up as before.
     */
    @Test
    void replayerWithoutAHeartbeatIsNotJudgedBySilence() throws Exception {
        try (SilentReplayer silent = new SilentReplayer(0)) {
            shipper = Shipper.start(config(silent.address()), log, Duration.ofMillis(200).toNanos());
            await("welcomed", () -> shipper.status().connected());
            appendRandom(20);
            long until = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            while (System.nanoTime() < until) {
                assertTrue(shipper.status().connected(), shipper.status().lastError());
                LockSupport.parkNanos(50_000_000L);
            }
            assertEquals(1, silent.sessions());
        }
    }

    /**
     * A replayer that welcomes each session and drops it at once (applying fails: its disk is
     * full) is reconnected to with a growing delay, not at the shortest one every time: a session
     * that did nothing does not reset the backoff.
     */
    @Test
    void aReplayerThatDropsEverySessionAtOnceIsRetriedWithAGrowingDelay() throws Exception {
        try (SilentReplayer dropping = new SilentReplayer(100, true)) {
            shipper = Shipper.start(config(dropping.address()), log, Duration.ofSeconds(10).toNanos());
            appendRandom(5);
            await("a first session", () -> dropping.sessions() >= 1);
            LockSupport.parkNanos(Duration.ofSeconds(2).toNanos()); // a window to count reconnections in
            int sessions = dropping.sessions();
            // 20, 40, 80, 160, then 200 ms (jittered down to half): at most ~20 in 2 s; ~100 at 20 ms each.
            assertTrue(sessions <= 25, "sessions in 2 s: " + sessions);
            assertTrue(sessions >= 3, "still retried: " + sessions);
        }
    }

    /**
     * A replayer whose heartbeats keep coming while not one batch reaches it (a path that carries
     * small packets but not large ones: an MTU mismatch) is shown stalled, not connected, once the
     * records sent waited past the stall limit for an acknowledgment (probe AA D1: "connected" for
     * most of 75 s with nothing acknowledged).
     */
    @Test
    void aLinkWhoseBatchesAreNeverAcknowledgedWhileTheReplayerAnswersIsShownStalled() throws Exception {
        System.setProperty("tapline.ship.minStallMillis", "1000");
        try (SilentReplayer heartbeats = new SilentReplayer(100, false, true)) {
            shipper = Shipper.start(config(heartbeats.address()), log, Duration.ofMillis(300).toNanos());
            await("welcomed", () -> shipper.status().connected());
            appendRandom(20);
            await("stalled", () -> !shipper.status().connected());
            ShipperStatus st = shipper.status();
            assertTrue(st.lastError().startsWith("link stalled: no batch acknowledged for "), st.lastError());
            assertTrue(st.lastError().contains("the path may carry small packets but not large ones"), st.lastError());
            assertTrue(st.lastError().contains("(again after each of 0 reconnections since)"), st.lastError());
            assertEquals(0, st.lastAckedSequence());
            assertEquals(1, heartbeats.sessions(), "the session itself stays up: its heartbeats come");
        } finally {
            System.clearProperty("tapline.ship.minStallMillis");
        }
    }

    /** A replayer that answers keeps its session with a silence timeout shorter than the run. */
    @Test
    void answeringReplayerKeepsItsSessionWithASilenceTimeout() throws Exception {
        shipper = Shipper.start(config(server.boundAddress()), log, Duration.ofSeconds(2).toNanos());
        for (int i = 0; i < 5; i++) {
            appendRandom(100);
            awaitAcked();
        }
        assertEquals(0, shipper.status().reconnects(), shipper.status().lastError());
        assertArrayEquals(expected, replica());
    }

    /**
     * Accepts journey connections, answers HELLO with WELCOME(0) and one replica state report
     * (announcing a heartbeat of {@code heartbeatMillis}, none when 0), then says nothing more and
     * reads and drops every byte.
     */
    private static final class SilentReplayer implements AutoCloseable {
        private final java.net.ServerSocket socket = new java.net.ServerSocket(0, 8,
                java.net.InetAddress.getLoopbackAddress());
        private final java.util.concurrent.atomic.AtomicInteger sessions = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.List<java.net.Socket> open = new java.util.concurrent.CopyOnWriteArrayList<>();

        private final long heartbeatMillis;
        private final boolean dropAfterWelcome;
        private final boolean keepReporting;

        SilentReplayer(long heartbeatMillis) throws IOException {
            this(heartbeatMillis, false);
        }

        /** With {@code dropAfterWelcome}, each session is closed right after its WELCOME and report. */
        SilentReplayer(long heartbeatMillis, boolean dropAfterWelcome) throws IOException {
            this(heartbeatMillis, dropAfterWelcome, false);
        }

        /** With {@code keepReporting}, the report is sent again every heartbeat (never an ACK). */
        SilentReplayer(long heartbeatMillis, boolean dropAfterWelcome, boolean keepReporting) throws IOException {
            this.heartbeatMillis = heartbeatMillis;
            this.dropAfterWelcome = dropAfterWelcome;
            this.keepReporting = keepReporting;
            Thread t = new Thread(this::accept, "silent-replayer");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", socket.getLocalPort());
        }

        int sessions() {
            return sessions.get();
        }

        private void accept() {
            try {
                while (true) {
                    java.net.Socket s = socket.accept();
                    open.add(s);
                    Thread t = new Thread(() -> serve(s), "silent-replayer-session");
                    t.setDaemon(true);
                    t.start();
                }
            } catch (IOException closed) {
                // the test is over
            }
        }

        private void serve(java.net.Socket s) {
            try (java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream())) {
                int helloLength = in.readInt();
                in.skipNBytes(helloLength); // type HELLO and its body
                java.io.DataOutputStream out = new java.io.DataOutputStream(s.getOutputStream());
                out.writeInt(9); // WELCOME: type 2, lastAppliedSequence 0
                out.writeByte(2);
                out.writeLong(0);
                byte[] report = io.tapline.journey.control.ControlCodec.encode(
                        new io.tapline.journey.control.ReplicaStateReport("consistent", 0, 0, 0, "")
                                .withHeartbeat(heartbeatMillis)).body();
                out.writeInt(1 + report.length); // CONTROL: type 10, one Kryo-encoded message
                out.writeByte(10);
                out.write(report);
                out.flush();
                sessions.incrementAndGet();
                if (dropAfterWelcome) {
                    s.close();
                    return;
                }
                if (keepReporting) {
                    Thread reporter = new Thread(() -> {
                        try {
                            while (!s.isClosed()) {
                                LockSupport.parkNanos(heartbeatMillis * 1_000_000L);
                                synchronized (out) {
                                    out.writeInt(1 + report.length);
                                    out.writeByte(10);
                                    out.write(report);
                                    out.flush();
                                }
                            }
                        } catch (IOException gone) {
                            // the source closed the session
                        }
                    }, "silent-replayer-heartbeat");
                    reporter.setDaemon(true);
                    reporter.start();
                }
                in.transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException gone) {
                // the source closed the session
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            for (java.net.Socket s : open) {
                s.close();
            }
        }
    }
}
