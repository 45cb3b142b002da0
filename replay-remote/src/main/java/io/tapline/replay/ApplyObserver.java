package io.tapline.replay;

import io.tapline.log.CaptureRecord;
import java.util.List;

/**
 * Told, on a volume's apply thread, of the records just made durable on its replica, in sequence
 * order, before they are acknowledged to the source: a node that forwards its replicas (a
 * cascade A → B → C) appends them to its own capture buffer here. Must not throw; a failure is
 * the observer's to track (its buffer then resyncs what it missed).
 */
@FunctionalInterface
public interface ApplyObserver {
    /** Observes nothing. */
    ApplyObserver NONE = (volumeId, records) -> { };

    void applied(String volumeId, List<CaptureRecord> records);
}
