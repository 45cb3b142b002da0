package io.tapline.journey.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class PollFailuresTest {
    @Test
    void aFailureRepeatedEveryPollIsLoggedOnceAndItsEndOnce() {
        Logger logger = (Logger) LoggerFactory.getLogger("poll-failures-test");
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        PollFailures f = new PollFailures(logger, "spool poll of /x");
        for (int i = 0; i < 100; i++) {
            f.failed(new IOException("Too many open files"));
        }
        f.failed(new IOException("No space left on device"));
        f.worked();
        f.worked();
        logger.detachAppender(lines);
        List<String> seen = lines.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
        assertEquals(List.of(
                "WARN spool poll of /x failed: java.io.IOException: Too many open files; retried, logged again when it"
                        + " works or fails otherwise",
                "WARN spool poll of /x failed: java.io.IOException: No space left on device; retried, logged again when"
                        + " it works or fails otherwise",
                "INFO spool poll of /x works again (it failed with java.io.IOException: No space left on device)"),
                seen);
        assertEquals(Level.WARN, lines.list.get(0).getLevel());
    }
}
