package io.tapline.replay;

/**
 * A snapshot of one replicated volume, for {@code tapline status}.
 *
 * @param volumeId            the volume
 * @param lastAppliedSequence every record up to this one is applied and durable
 * @param outOfSync           a GAP record was applied: the replica misses data until a resync
 * @param bytesApplied        bytes written or zeroed on the replica since the replayer started
 * @param sessionConnected    whether a source is connected for this volume now
 */
public record VolumeStatus(String volumeId, long lastAppliedSequence, boolean outOfSync, long bytesApplied,
        boolean sessionConnected) {
}
