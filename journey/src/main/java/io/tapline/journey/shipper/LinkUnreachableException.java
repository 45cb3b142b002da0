package io.tapline.journey.shipper;

import java.io.IOException;

/**
 * A connection to the replayer could not be opened (refused, unreachable, or no answer within
 * the connect bound): the line or the replayer's host is down, not the replayer refusing us, so
 * the shipper retries at its shortest delay instead of backing off.
 */
final class LinkUnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    LinkUnreachableException(String message) {
        super(message);
    }
}
