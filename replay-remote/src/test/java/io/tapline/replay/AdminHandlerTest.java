package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.CaptureRecord;
import io.tapline.log.undo.UndoConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminHandlerTest {
    private static final UndoConfig SMALL_SEGMENTS = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;

    /**
     * A rollback asked for while another administrator's operation on the volume runs is refused
     * at once. Its target check queued behind the running one on the volume's thread, and then ran
     * a second rollback over the first one's result: both said "rolled back" (probe AB D2).
     */
    @Test
    void aRollbackWhileAnotherOperationRunsIsRefusedNotRunAfterIt() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        VolumeHost host = new VolumeHost("vol1", data, SMALL_SEGMENTS, RoleListener.NONE, ApplyObserver.NONE);
        try {
            ReplicaVolume v = host.open(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                    "vol1", 256 << 10, 4096, ""));
            v.apply(BatchCodec.pack(1, records.subList(0, 300)));
            CountDownLatch release = new CountDownLatch(1);
            assertTrue(host.beginAdmin("rolled back by alice"));
            host.executor().execute(() -> { // the first rollback, still running on the volume's thread
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    host.endAdmin();
                }
            });
            EmbeddedChannel channel = new EmbeddedChannel();
            new AdminHandler(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data), id -> host, channel)
                    .handle(new AdminRequest("", "bob", "vol1", AdminRequest.ROLLBACK, AdminRequest.TO_SEQUENCE, 100, ""));
            release.countDown();
            host.executor().submit(() -> { }).get(); // whatever the request queued has run
            channel.runPendingTasks();
            JourneyMessage.AdminDone done = channel.readOutbound();
            assertFalse(done.ok(), done.message());
            assertTrue(done.message().startsWith("volume busy: another administrator's operation"), done.message());
            assertEquals(300, v.lastApplied(), "the second rollback did not run");
        } finally {
            host.close();
        }
    }
}
