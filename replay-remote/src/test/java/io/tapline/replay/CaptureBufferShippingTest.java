package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.shipper.Shipper;
import io.tapline.journey.shipper.ShipperConfig;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Capture buffer → shipper → journey link → replayer, all real, on loopback and real files. */
class CaptureBufferShippingTest {
    private static final int SIZE = 8 << 20;
    private static final String VOLUME = "vol1";
    private static final Provenance WEDGE = new Provenance(Bus.WEDGE, "127.0.0.1:50000", VOLUME, 1, 0, 1);

    @TempDir
    Path tmp;
    private Path bufferDir;
    private Path dataDir;
    private CaptureBuffer buffer;
    private ReplayServer server;
    private Shipper shipper;
    private final byte[] expected = new byte[SIZE];
    private final Random random = new Random(7);

    @BeforeEach
    void start() throws IOException {
        bufferDir = tmp.resolve("buffer");
        dataDir = tmp.resolve("remote");
        Files.createDirectories(bufferDir);
        buffer = CaptureBuffer.open(bufferDir, VOLUME, new BufferConfig(1 << 20, 256L << 20, 200L << 20));
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), dataDir));
    }

    @AfterEach
    void stop() throws IOException {
        if (shipper != null) {
            shipper.close();
        }
        server.close();
        buffer.close();
    }

    private Shipper startShipper(InetSocketAddress remote) throws IOException {
        return Shipper.start(ShipperConfig.of(remote, "wedge-a", VOLUME, SIZE, 4096).withMaxBatchBytes(256 << 10)
                .withBackoff(Duration.ofMillis(20), Duration.ofMillis(300)), buffer);
    }

    private void appendRandom(int n) throws IOException {
        appendRandomUnsynced(n);
        buffer.sync();
    }

    private void appendRandomUnsynced(int n) throws IOException {
        for (int i = 0; i < n; i++) {
            int length = 512 * (1 + random.nextInt(128));
            int offset = 512 * random.nextInt((SIZE - length) / 512);
            if (random.nextInt(10) == 0) {
                buffer.append(RecordKind.DISCARD, offset, length, 0, WEDGE, null);
                Arrays.fill(expected, offset, offset + length, (byte) 0);
            } else {
                byte[] payload = new byte[length];
                random.nextBytes(payload);
                if (random.nextBoolean()) {
                    Arrays.fill(payload, 0, length / 2, (byte) 0x5A);
                }
                CaptureRecord r = buffer.append(RecordKind.WRITE, offset, length, 0, WEDGE, payload);
                assertTrue(r != null, "buffer accepted the write");
                System.arraycopy(payload, 0, expected, offset, length);
            }
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        io.tapline.replay.Await.until(Duration.ofSeconds(60), what, condition);
    }

    private void awaitSynced() {
        long last = buffer.lastSequence();
        String remote = shipper.config().cursorId();
        await("remote " + remote + " acked seq " + last, () -> buffer.acknowledged(remote) >= last);
    }

    private byte[] replica() throws IOException {
        return Files.readAllBytes(dataDir.resolve(VOLUME).resolve("replica.img"));
    }

    @Test
    void randomWritesReachTheReplicaByteForByte() throws Exception {
        shipper = startShipper(server.boundAddress());
        appendRandom(300);
        awaitSynced();
        assertArrayEquals(expected, replica());
        assertEquals(buffer.lastSequence(), server.volumeStatus(VOLUME).orElseThrow().lastAppliedSequence());
        assertTrue(buffer.status().synced());
    }

    @Test
    void onlyRecordsTheSourceMadeDurableAreShipped() throws Exception {
        shipper = startShipper(server.boundAddress());
        appendRandomUnsynced(200); // nobody calls sync(): the shipper must, before it sends
        awaitSynced();
        assertTrue(buffer.durableSequence() >= buffer.acknowledged(shipper.config().cursorId()),
                "durable " + buffer.durableSequence() + " < acked " + buffer.acknowledged(shipper.config().cursorId()));
        assertArrayEquals(expected, replica());
    }

    @Test
    void replayerKilledAndRestartedLosesNothing() throws Exception {
        InetSocketAddress address = server.boundAddress();
        shipper = startShipper(address);
        appendRandom(100);
        awaitSynced();
        server.close();
        await("link down", () -> !shipper.status().connected());
        appendRandom(200);
        await("failed reconnects", () -> shipper.status().reconnects() >= 2);
        server = ReplayServer.start(ReplayConfig.of(address, dataDir));
        awaitSynced();
        assertArrayEquals(expected, replica());
    }

    @Test
    void aBufferOfAnotherHistoryNumberedAsFarAsTheReplicaIsFoundDivergedNotTakenForTheSame() throws Exception {
        shipper = startShipper(server.boundAddress());
        appendRandom(20);
        awaitSynced();
        await("history checked", () -> shipper.historyVerdict() != Shipper.HistoryVerdict.NOT_CHECKED);
        assertEquals(Shipper.HistoryVerdict.NOT_CHECKABLE, shipper.historyVerdict(), "a new replica holds nothing to compare");
        shipper.close();
        buffer.close();
        // a second capture imported into a new buffer: 20 records too, other writes
        bufferDir = tmp.resolve("buffer-2");
        Files.createDirectories(bufferDir);
        buffer = CaptureBuffer.open(bufferDir, VOLUME, new BufferConfig(1 << 20, 256L << 20, 200L << 20));
        appendRandom(20);
        shipper = startShipper(server.boundAddress());
        await("reconnected", () -> shipper.status().connected());
        assertEquals(20, shipper.status().lastAckedSequence(), "everything looks acknowledged by the numbers");
        await("history checked", () -> shipper.historyVerdict() != Shipper.HistoryVerdict.NOT_CHECKED);
        assertEquals(Shipper.HistoryVerdict.DIVERGED, shipper.historyVerdict());
        await("the replica out of sync", () -> !"consistent".equals(server.volumeStatus(VOLUME).orElseThrow().state()));
    }

    @Test
    void restartedShipperResumesWithoutReapplying() throws Exception {
        shipper = startShipper(server.boundAddress());
        appendRandom(150);
        awaitSynced();
        shipper.close();
        long applied = server.volumeStatus(VOLUME).orElseThrow().bytesApplied();
        buffer.close();
        buffer = CaptureBuffer.open(bufferDir, VOLUME, new BufferConfig(1 << 20, 256L << 20, 200L << 20));
        shipper = startShipper(server.boundAddress());
        await("reconnected", () -> shipper.status().connected());
        assertEquals(150, shipper.status().lastAckedSequence());
        assertEquals(applied, server.volumeStatus(VOLUME).orElseThrow().bytesApplied(), "nothing re-applied");
        appendRandom(50);
        awaitSynced();
        assertArrayEquals(expected, replica());
    }
}
