package io.tapline.kafka;

/**
 * What a replica needs to know of a volume before its first record: the journey link learns it
 * from HELLO, the Kafka path from each record's headers ({@link KafkaRecordFormat}).
 *
 * @param volumeId      the volume (the export name)
 * @param sizeBytes     the volume's size
 * @param blockSizeBytes the volume's block size
 * @param sourceId      the source that captures it
 */
public record VolumeIdentity(String volumeId, long sizeBytes, int blockSizeBytes, String sourceId) {
    public VolumeIdentity {
        java.util.Objects.requireNonNull(volumeId, "volumeId");
        java.util.Objects.requireNonNull(sourceId, "sourceId");
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("sizeBytes: " + sizeBytes + " (expected: > 0)");
        }
        if (blockSizeBytes <= 0) {
            throw new IllegalArgumentException("blockSizeBytes: " + blockSizeBytes + " (expected: > 0)");
        }
    }

    /** The HELLO the journey link would have sent for this volume (credential unused here). */
    io.tapline.journey.JourneyMessage.Hello hello() {
        return new io.tapline.journey.JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, sourceId,
                volumeId, sizeBytes, blockSizeBytes, "");
    }
}
