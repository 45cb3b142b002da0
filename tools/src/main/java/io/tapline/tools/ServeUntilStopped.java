package io.tapline.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a server command running until SIGTERM / SIGINT, then closes what it started in reverse
 * order (so the wedge drains before the buffer closes, and the buffer before the process ends).
 */
final class ServeUntilStopped {
    private static final Logger LOG = LoggerFactory.getLogger(ServeUntilStopped.class);

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** Registers something to close at shutdown; returns it. */
    synchronized <T extends AutoCloseable> T own(T resource) {
        resources.add(resource);
        return resource;
    }

    /** Blocks until the JVM is asked to stop; the shutdown hook closes every resource. */
    void await() throws InterruptedException {
        Runtime.getRuntime().addShutdownHook(new Thread(this::closeAll, "tapline-shutdown"));
        stopped.await();
    }

    /**
     * Closes everything now (for a failed start-up, or a capture that stopped), once: the shutdown
     * hook may run it at the same time from its own thread and then finds nothing left.
     */
    synchronized void closeAll() {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                LOG.error("close failed resource={} error={}", resources.get(i), e.toString());
            }
        }
        resources.clear();
        stopped.countDown();
    }
}
