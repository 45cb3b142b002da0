package io.tapline.wedge.server;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The transmission-phase connections of a server, so that {@code close()} can stop them taking
 * requests and wait until each has answered everything it accepted. Thread-safe.
 */
final class ConnectionTracker {
    private final Set<NbdTransmissionHandler> handlers = ConcurrentHashMap.newKeySet();

    void add(NbdTransmissionHandler h) {
        handlers.add(h);
    }

    void remove(NbdTransmissionHandler h) {
        handlers.remove(h);
    }

    /** Asks every connection to stop reading new requests. */
    void stopReading() {
        for (NbdTransmissionHandler h : handlers) {
            h.stopReading();
        }
    }

    /** Whether no connection has a request in flight. */
    boolean idle() {
        for (NbdTransmissionHandler h : handlers) {
            if (h.inFlight() > 0) {
                return false;
            }
        }
        return true;
    }
}
