package io.tapline.journey.shipper;

/**
 * A snapshot of a {@link Shipper}'s link, for status and metrics.
 *
 * @param remoteId          the remote's id in the capture buffer ({@link ShipperConfig#cursorId()}),
 *                          the key of {@code BufferStatus.acknowledged()}
 * @param address           {@code host:port} of the replayer ({@link ShipperConfig#remoteId()}, or where an
 *                          operator retargeted the link)
 * @param connected         whether a session is open (WELCOME received and link up) and delivering:
 *                          false while records sent wait longer than twice the silence timeout for
 *                          an acknowledgment (a stalled path; {@code lastError} says so)
 * @param lastSentSequence  highest sequence sent in the current or a past session (0 if none)
 * @param lastAckedSequence highest sequence the replayer acknowledged as durably applied
 * @param reconnects        sessions lost or connection attempts failed since start
 * @param lastError         why the link last went down or failed to come up, or why it is stalled;
 *                          empty while it is up and delivering
 * @param replica           the replica's state as its replayer last reported it; null if never reported
 */
public record ShipperStatus(String remoteId, String address, boolean connected, long lastSentSequence,
        long lastAckedSequence, long reconnects, String lastError,
        io.tapline.journey.control.ReplicaStateReport replica) {
}
