package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.replay.ReplayConfig;
import io.tapline.replay.ReplayServer;
import io.tapline.replay.VolumeStatus;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica whose history this capture buffer does not hold (the buffer was replaced while the
 * replica had applied more than the new one holds) is no longer stranded: the buffer numbers past
 * it and the replica continues there, out of sync with no consistent point, so that a
 * whole-volume resync heals it. A real buffer, shipper and replayer on loopback.
 */
class BufferNumberingJumpTest {
    private static final int SIZE = 4 << 20;
    private static final String VOLUME = "vol1";
    private static final BufferConfig SMALL_SEGMENTS = new BufferConfig(64 << 10, 1L << 30, 1L << 29);

    @TempDir
    Path dir;
    private ReplayServer server;
    private Shipper shipper;
    private final Random random = new Random(7);

    @BeforeEach
    void startServer() throws IOException {
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("replica")));
    }

    @AfterEach
    void stop() {
        if (shipper != null) {
            shipper.close();
        }
        server.close();
    }

    private ShipperConfig config() {
        return ShipperConfig.of(server.boundAddress(), "src-a", VOLUME, SIZE, 4096).withMaxBatchBytes(64 << 10)
                .withMaxInFlightBatches(4).withBackoff(Duration.ofMillis(20), Duration.ofMillis(200));
    }

    private void write(CaptureBuffer buffer, int records) throws IOException {
        for (int i = 0; i < records; i++) {
            byte[] data = new byte[4096 * (1 + random.nextInt(4))];
            random.nextBytes(data);
            buffer.append(RecordKind.WRITE, 4096L * random.nextInt(SIZE / 4096 - 4), data.length, 0,
                    Provenance.INTERNAL, data);
        }
    }

    private VolumeStatus replica() {
        return server.volumeStatus(VOLUME).orElseThrow();
    }

    private static void await(String what, BooleanSupplier condition) {
        io.tapline.replay.Await.until(Duration.ofSeconds(30), what, condition);
    }

    @Test
    void aReplacedBufferNumbersPastItsReplicaWhichThenNeedsAWholeVolumeResync() throws Exception {
        try (CaptureBuffer old = CaptureBuffer.open(dir.resolve("old"), VOLUME, SMALL_SEGMENTS)) {
            write(old, 40);
            shipper = Shipper.start(config(), old);
            await("replica at 40", () -> server.volumeStatus(VOLUME).map(VolumeStatus::lastAppliedSequence).orElse(0L) == 40);
            shipper.close();
        }
        assertEquals("consistent", replica().state());
        try (CaptureBuffer replaced = CaptureBuffer.open(dir.resolve("new"), VOLUME, SMALL_SEGMENTS)) {
            write(replaced, 5); // the host wrote less than the replica holds: seq 1..5
            shipper = Shipper.start(config(), replaced);
            await("the GAP past the replica applied", () -> replica().lastAppliedSequence() == 41);
            write(replaced, 3);
            await("writes after it applied", () -> replica().lastAppliedSequence() == 44);
            assertEquals(44, replaced.lastSequence());
            VolumeStatus status = replica();
            assertEquals("out-of-sync", status.state(), status.toString());
            assertEquals(0, status.consistentSequence(), "no consistent point: " + status);
            assertTrue(shipper.status().connected(), shipper.status().toString());
            // the replica applied it before its ACK reached the shipper: wait for the ACK, not the apply
            await("the ACK of 44", () -> shipper.status().lastAckedSequence() == 44);
        }
    }

    @Test
    void aReplicaBehindTheHoleCrossesItAtTheGap() throws Exception {
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), VOLUME, SMALL_SEGMENTS)) {
            write(buffer, 30);
            shipper = Shipper.start(config(), buffer);
            await("replica at 30", () -> server.volumeStatus(VOLUME).map(VolumeStatus::lastAppliedSequence).orElse(0L) == 30);
            shipper.close();
            write(buffer, 20); // 31..50, not shipped yet
            assertTrue(buffer.numberPast(500, "another replica follows another history"));
            write(buffer, 10); // 502..511
            shipper = Shipper.start(config(), buffer);
            await("replica across the hole", () -> replica().lastAppliedSequence() == 511);
            assertEquals("out-of-sync", replica().state(), "the GAP says records are missing: " + replica());
        }
    }
}
