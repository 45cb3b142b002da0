package io.tapline.journey.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link SourceSide}: what it starts, publishes and closes, in which order. */
class SourceSideTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(30)
    void publishesWhileRunningThenClosesTheFrontNewestFirstBeforeTheBufferAndPublishesStopped() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        CountDownLatch published = new CountDownLatch(1);
        SourceSide side = SourceSide.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT);
        side.publishStatus((s, running) -> {
            if (running) {
                published.countDown();
            } else {
                events.add("stopped links=" + s.linkStatuses().size() + " bufferOpen=" + bufferOpen(s));
            }
        });
        assertTrue(published.await(10, TimeUnit.SECONDS), "published at once while running");
        side.ship(new SourceSide.Shipping(List.of(new InetSocketAddress("127.0.0.1", 9)), "src", 1 << 20, 512,
                c -> c), (volume, size, block, buffer) -> new SourceLink() {
                    @Override
                    public ShipperStatus status() {
                        return new ShipperStatus("kafka", "kafka://b/t." + volume, true, 0, 0, 0, "", null);
                    }

                    @Override
                    public void close() {
                        events.add("link closed bufferOpen=" + bufferOpen(side));
                    }
                });
        assertThrows(IllegalStateException.class, () -> side.ship(new SourceSide.Shipping(List.of(), "src", 1, 512,
                c -> c), null), "ships once");
        assertEquals(1, side.shippers().size());
        assertEquals(List.of("127.0.0.1_9", "kafka"), side.linkStatuses().stream().map(ShipperStatus::remoteId).toList());
        side.buffer().append(RecordKind.WRITE, 0, 512, 0, Provenance.INTERNAL, new byte[512]);
        side.own(() -> events.add("first owned"));
        side.own(() -> events.add("second owned"));
        side.close();
        side.close(); // idempotent
        assertEquals(List.of("second owned", "first owned", "link closed bufferOpen=true", "stopped links=2 bufferOpen=false"),
                events);
        assertEquals(1, side.buffer().durableSequence(), "synced at close");
        assertFalse(side.shippers().get(0).connected());
    }

    @Test
    @Timeout(30)
    void aShipPauseSavedBeforeARestartHoldsTheShipperFromItsStartNotFromWhenTheControlsStart() throws Exception {
        Path volumeDir = dir.resolve("vol1");
        SourceSide side = SourceSide.open(volumeDir, "vol1", BufferConfig.DEFAULT);
        java.nio.file.Files.writeString(SourceSide.shipPauseFile(volumeDir, "127.0.0.1_9"), "paused by ops\n");
        side.ship(new SourceSide.Shipping(List.of(new InetSocketAddress("127.0.0.1", 9),
                new InetSocketAddress("127.0.0.1", 10)), "src", 1 << 20, 512, c -> c), null);
        try {
            assertEquals("paused by ops", side.shippers().get(0).paused(), "paused before its thread ran");
            assertEquals("shipping paused: paused by ops", side.shippers().get(0).status().lastError());
            assertEquals("", side.shippers().get(1).paused(), "the other remote ships");
        } finally {
            side.close();
        }
    }

    @Test
    @Timeout(30)
    void closeWaitsForAPublicationInFlightSoThatStoppedIsTheLastWord() throws Exception {
        List<Boolean> published = new CopyOnWriteArrayList<>();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        SourceSide side = SourceSide.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT);
        side.publishStatus((s, running) -> {
            if (running && entered.getCount() > 0) {
                entered.countDown();
                try {
                    release.await(); // a slow status write, running while close begins
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // a close that interrupts it fails the test below
                }
            }
            published.add(running);
        });
        assertTrue(entered.await(10, TimeUnit.SECONDS), "first publication started");
        Thread closer = new Thread(side::close, "closer");
        closer.start();
        closer.join(300);
        assertTrue(closer.isAlive(), "close waits for the publication in flight");
        release.countDown();
        closer.join(10_000);
        assertFalse(closer.isAlive(), "close ends once the publication did");
        assertEquals(List.of(true, false), published, "the in-flight 'running' first, 'stopped' last");
    }

    private static boolean bufferOpen(SourceSide s) {
        try {
            s.buffer().sync();
            return true;
        } catch (Exception | AssertionError e) {
            return false;
        }
    }
}
