package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import io.tapline.journey.control.ControlCodec;
import io.tapline.journey.control.SourceStopping;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A promotion without --force loses nothing: it is accepted only when the source said, as it
 * stopped, that every record it captured is here and nothing else of it is pending (probe s62 AE
 * D1, D2: a source stopped behind its replica, or with cycle mode's writes uncopied, was promoted
 * as planned and its host's acknowledged writes were gone).
 */
class PlannedPromotionTest {
    private static final long SIZE = 1 << 20;

    @TempDir
    Path data;
    private ReplayServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** A session of the source that says {@code lastWord} (none when null) and then goes; then a plain promote. */
    private JourneyMessage.AdminDone stopsSayingThenPromote(SourceStopping lastWord) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try (JourneyTestClient c = new JourneyTestClient(server.boundAddress())) {
                c.send(new JourneyMessage.Hello(JourneyProtocol.VERSION, "node-a", "vol1", SIZE, 4096, "", 0));
                JourneyMessage m = c.next();
                if (m instanceof JourneyMessage.Welcome) {
                    if (lastWord != null) {
                        c.send(ControlCodec.encode(lastWord));
                    }
                    assertTrue(c.finish(), "the replayer closes once it read to the end");
                    break;
                }
                String reason = ((JourneyMessage.Refused) m).reason();
                assertTrue(reason.startsWith("volume busy") && System.nanoTime() < deadline, reason);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L); // the previous session is still ending
        }
        return PlainPromotion.onceSourceGone(server.boundAddress(), "vol1");
    }

    @Test
    void aPlainPromotionNeedsTheSourcesLastWordThatEverythingArrived() throws Exception {
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data), RoleListener.NONE);
        JourneyMessage.AdminDone silent = stopsSayingThenPromote(null);
        assertFalse(silent.ok(), silent.message());
        assertTrue(silent.message().contains("did not say, as it stopped, that everything it captured arrived"),
                silent.message());
        JourneyMessage.AdminDone behind = stopsSayingThenPromote(new SourceStopping(5, 0, System.currentTimeMillis()));
        assertFalse(behind.ok(), behind.message());
        assertTrue(behind.message().contains("captured up to seq 5 and this replica holds seq 0: 5 records never"
                + " arrived"), behind.message());
        JourneyMessage.AdminDone uncopied = stopsSayingThenPromote(new SourceStopping(0, 3, System.currentTimeMillis()));
        assertFalse(uncopied.ok(), uncopied.message());
        assertTrue(uncopied.message().contains("stopped with 3 change(s) no record carried"), uncopied.message());
        JourneyMessage.AdminDone whole = stopsSayingThenPromote(new SourceStopping(0, 0, System.currentTimeMillis()));
        assertTrue(whole.ok(), whole.message());
        assertTrue(whole.message().contains("its source stopped cleanly"), whole.message());
    }
}
