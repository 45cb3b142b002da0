package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * A whole BATCH frame, length field included, ready for the socket: what {@link JourneyEncoder}
 * writes for the {@link JourneyMessage.Batch} of the same records, built in place by
 * {@link BatchFrameBuilder}. The other fields say what the frame holds, for the sender's window
 * and its check of the ACK.
 *
 * <p>The frame is owned by whoever holds this: written to a channel (which releases it) or
 * released.
 *
 * @param frame         the frame's bytes, readable from its reader index
 * @param batchId       the batch id in the frame
 * @param firstSequence sequence of its first record
 * @param lastSequence  sequence of its last record
 * @param recordCount   records in it
 * @param crc32c        CRC-32C of the uncompressed record bytes (echoed by the ACK)
 * @param bodyBytes     record bytes on the wire, compressed or not
 */
public record BatchFrame(ByteBuf frame, long batchId, long firstSequence, long lastSequence, int recordCount,
        int crc32c, int bodyBytes) {
    public BatchFrame {
        Objects.requireNonNull(frame, "frame");
    }
}
