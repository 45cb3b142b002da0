package io.tapline.tools;

import io.tapline.kafka.KafkaLinkConfig;
import io.tapline.kafka.KafkaShipper;
import io.tapline.kafka.VolumeIdentity;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.journey.source.SourceLink;
import java.io.IOException;

/**
 * The Kafka {@link SourceLink} of a source side ({@code --kafka}), for the wedge
 * ({@code SourceNode#shipToKafka}) and for each volume the snoop's router ships (topic {@code <prefix><volume>}, the
 * buffer's cursor {@code kafka} advances on Kafka's acknowledgement), so the link shows in
 * {@code link-status.json} as remote {@code kafka} and an import waits for it like for a replayer.
 *
 * <p>Thread-safety: stateless; the router calls it under its lock ({@link KafkaShipper#start}
 * only registers the cursor and starts the shipper's thread).
 */
final class KafkaSourceLinks implements SourceLink.Factory {
    private final KafkaLinkConfig link;
    private final String sourceId;

    KafkaSourceLinks(KafkaLinkConfig link, String sourceId) {
        this.link = link;
        this.sourceId = sourceId;
    }

    @Override
    public SourceLink start(String volume, long sizeBytes, int blockSizeBytes, CaptureBuffer buffer) throws IOException {
        KafkaShipper shipper = KafkaShipper.start(link, new VolumeIdentity(volume, sizeBytes, blockSizeBytes, sourceId),
                buffer);
        return new SourceLink() {
            @Override
            public ShipperStatus status() {
                return shipper.status();
            }

            @Override
            public void onChange(Runnable listener) {
                shipper.onChange(listener);
            }

            @Override
            public void close() {
                shipper.close();
            }
        };
    }
}
