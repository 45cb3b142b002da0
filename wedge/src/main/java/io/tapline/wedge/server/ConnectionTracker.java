package io.tapline.wedge.server;

import io.netty.channel.ChannelFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The transmission-phase connections of one export, so that the export can be stopped on its
 * own: stop them taking requests, wait until each has answered everything it accepted, close
 * them. Once {@link #closeAll} ran, a connection that finishes negotiating for this export
 * afterwards is refused by {@link #add} (it had looked the export up just before it was replaced
 * or removed) and closes itself. Thread-safe.
 */
final class ConnectionTracker {
    private final Set<NbdTransmissionHandler> handlers = ConcurrentHashMap.newKeySet();
    private boolean closed;

    /** @return false when the export's connections were already closed: the caller must close itself */
    synchronized boolean add(NbdTransmissionHandler h) {
        if (closed) {
            return false;
        }
        handlers.add(h);
        return true;
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

    /** Closes every connection, refuses later ones, and waits until the closes are done. Not on an event loop. */
    void closeAll() {
        List<ChannelFuture> closing = new ArrayList<>();
        synchronized (this) {
            closed = true;
            for (NbdTransmissionHandler h : handlers) {
                closing.add(h.close());
            }
        }
        for (ChannelFuture f : closing) {
            f.awaitUninterruptibly();
        }
    }
}
