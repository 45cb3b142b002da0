package io.tapline.replay;

import io.tapline.journey.JourneyMessage;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** Tests' plain promotion (no --force) of a volume whose source's session is ending. */
public final class PlainPromotion {
    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private PlainPromotion() {
    }

    /**
     * Asks {@code server} to promote {@code volume} without --force, again every 20 ms while it
     * answers that a source is still live (the session's end reaches the volume's host within
     * milliseconds), for at most 10 s; its last answer.
     */
    public static JourneyMessage.AdminDone onceSourceGone(InetSocketAddress server, String volume) throws Exception {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (true) {
            JourneyMessage.AdminDone done = AdminClient.request(server, new JourneyMessage.AdminRequest("", "alice",
                    volume, JourneyMessage.AdminRequest.PROMOTE, 0, 0, ""), 10_000, (d, t) -> { });
            if (done.ok() || !done.message().contains("live source") || System.nanoTime() > deadline) {
                return done;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }
}
