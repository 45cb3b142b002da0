package io.tapline.tools;

import io.tapline.kafka.KafkaLinkConfig;
import io.tapline.kafka.KafkaShipper;
import io.tapline.kafka.VolumeIdentity;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.snoop.volume.VolumeLink;
import java.io.IOException;

/**
 * {@code tapline snoop --kafka}: starts a {@link KafkaShipper} for each volume the router ships,
 * exactly as the wedge's {@code SourceNode#shipToKafka} does (topic {@code <prefix><volume>}, the
 * buffer's cursor {@code kafka} advances on Kafka's acknowledgement), so the link shows in
 * {@code link-status.json} as remote {@code kafka} and an import waits for it like for a replayer.
 *
 * <p>Thread-safety: stateless; the router calls it under its lock ({@link KafkaShipper#start}
 * only registers the cursor and starts the shipper's thread).
 */
final class SnoopKafkaLinks implements VolumeLink.Factory {
    private final KafkaLinkConfig link;
    private final String sourceId;

    SnoopKafkaLinks(KafkaLinkConfig link, String sourceId) {
        this.link = link;
        this.sourceId = sourceId;
    }

    @Override
    public VolumeLink start(String volume, long sizeBytes, int blockSizeBytes, CaptureBuffer buffer) throws IOException {
        KafkaShipper shipper = KafkaShipper.start(link, new VolumeIdentity(volume, sizeBytes, blockSizeBytes, sourceId),
                buffer);
        return new VolumeLink() {
            @Override
            public ShipperStatus status() {
                return shipper.status();
            }

            @Override
            public void close() {
                shipper.close();
            }
        };
    }
}
