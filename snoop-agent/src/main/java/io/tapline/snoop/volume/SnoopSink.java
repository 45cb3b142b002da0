package io.tapline.snoop.volume;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;

/**
 * Where the protocol decoders deliver what they saw, per volume, in completion order. Called on
 * the capture thread only.
 */
public interface SnoopSink {
    /** Whole volume, for {@link #gap}: the range is unknown. */
    long WHOLE_VOLUME = -1;

    /** The volume's geometry became known (READ CAPACITY, NBD handshake); size -1 when unknown. */
    void geometry(VolumeKey volume, long sizeBytes, int blockSizeBytes);

    /**
     * A write-nature command completed successfully (WRITE, WRITE_ZEROES, DISCARD, FLUSH).
     * {@code payload} is only valid during the call: the decoders reuse the array afterwards.
     */
    void completed(VolumeKey volume, RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload);

    /**
     * {@code volume} stands in for connections joined mid-stream (their login or handshake never
     * seen): named after its server, its writes are GAPs on that server's named volumes too. An
     * import does not fail for not shipping it when its size never showed.
     */
    default void standIn(VolumeKey volume) {
    }

    /** Capture lost what happened to {@code [offset, offset+length)}, or the whole volume when length is {@link #WHOLE_VOLUME}. */
    void gap(VolumeKey volume, long offsetBytes, long lengthBytes, String reason);

    /** A read-nature command was seen (counted, never stored). */
    void readSeen(VolumeKey volume);
}
