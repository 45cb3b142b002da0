package io.tapline.journey.source;

import org.slf4j.Logger;

/**
 * Logs the failures of a loop that polls a folder every few hundred milliseconds once per episode:
 * WARN at the first failure and at each different one, INFO once it works again. Out of
 * descriptors, two spools logged a WARN every 100-200 ms (probe V D5: 334 lines in 20 s).
 *
 * <p>Not thread-safe: the poller's own thread.
 */
public final class PollFailures {
    private final Logger log;
    private final String what;
    private String failing;

    /** For the loop named {@code what} (e.g. "mark spool poll of /srv/..."), logging to {@code log}. */
    public PollFailures(Logger log, String what) {
        this.log = log;
        this.what = what;
    }

    /** A poll failed with {@code e}. */
    public void failed(Exception e) {
        String error = e.toString();
        if (!error.equals(failing)) {
            log.warn("{} failed: {}; retried, logged again when it works or fails otherwise", what, error);
        }
        failing = error;
    }

    /** A poll worked. */
    public void worked() {
        if (failing != null) {
            log.info("{} works again (it failed with {})", what, failing);
            failing = null;
        }
    }
}
