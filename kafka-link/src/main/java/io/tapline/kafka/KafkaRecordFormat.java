package io.tapline.kafka;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * How a capture record travels on Kafka: one Kafka record per capture record, on the volume's
 * topic ({@code <prefix><volumeId>}, one partition, so the partition's order is the sequence
 * order). The reference copy of this table is {@code docs/formats.md}.
 *
 * <pre>
 * part     content
 * key      volumeId, UTF-8 (the same for every record of a topic; keeps a volume on one partition
 *          if a topic is ever given more)
 * value    the capture record exactly as {@link RecordCodec} encodes it (length, CRC-32C, ...,
 *          payload): the replayer checks it as it checks a journey batch
 * headers  tapline.seq         8 bytes big-endian, the record's sequence (lets a consumer skip
 *                              records it applied without decoding them; checked against the value)
 *          tapline.size        8 bytes big-endian, the volume's size in bytes
 *          tapline.block       4 bytes big-endian, the volume's block size
 *          tapline.source      UTF-8, the source's id (the replica's volume.meta checks it)
 *          tapline.buffer      8 bytes big-endian, the id of the capture buffer that wrote the record
 *                              (non-zero; missing on records written before it existed): a topic holds
 *                              one buffer's history, the shipper and the replicas refuse another's
 * timestamp the producer's send time (Kafka CreateTime); the capture time is inside the value
 * </pre>
 *
 * <p>Compression is Kafka's (producer {@code compression.type}, lz4 by default), per producer
 * batch; the journey link's own LZ4 is not used on this path. Stateless and thread-safe.
 */
public final class KafkaRecordFormat {
    public static final String SEQ_HEADER = "tapline.seq";
    public static final String SIZE_HEADER = "tapline.size";
    public static final String BLOCK_HEADER = "tapline.block";
    public static final String SOURCE_HEADER = "tapline.source";
    public static final String BUFFER_HEADER = "tapline.buffer";

    private KafkaRecordFormat() {
    }

    /** The topic of {@code volumeId}. */
    public static String topic(String prefix, String volumeId) {
        return prefix + volumeId;
    }

    /** The Kafka record for {@code r}, captured in the buffer {@code bufferId}, on {@code topic}. */
    static ProducerRecord<byte[], byte[]> toKafka(String topic, CaptureRecord r, VolumeIdentity volume,
            long bufferId) {
        Headers headers = new RecordHeaders()
                .add(SEQ_HEADER, ByteBuffer.allocate(8).putLong(0, r.sequence()).array())
                .add(SIZE_HEADER, ByteBuffer.allocate(8).putLong(0, volume.sizeBytes()).array())
                .add(BLOCK_HEADER, ByteBuffer.allocate(4).putInt(0, volume.blockSizeBytes()).array())
                .add(SOURCE_HEADER, volume.sourceId().getBytes(StandardCharsets.UTF_8))
                .add(BUFFER_HEADER, ByteBuffer.allocate(8).putLong(0, bufferId).array());
        return new ProducerRecord<>(topic, 0, r.volumeId().getBytes(StandardCharsets.UTF_8),
                RecordCodec.encode(r), headers);
    }

    /** The sequence a Kafka record carries in its header. */
    static long sequence(ConsumerRecord<byte[], byte[]> r) {
        return ByteBuffer.wrap(header(r, SEQ_HEADER, 8)).getLong();
    }

    /**
     * The id of the capture buffer that wrote a Kafka record, or 0 when it has none (written before
     * records carried it: judged by its sequence alone).
     */
    static long bufferId(ConsumerRecord<byte[], byte[]> r) {
        Header h = r.headers().lastHeader(BUFFER_HEADER); // looked up once: read for every record a site applies
        return h == null ? 0 : ByteBuffer.wrap(header(r, h, BUFFER_HEADER, 8)).getLong();
    }

    /** The volume a Kafka record belongs to, from its key and headers. */
    static VolumeIdentity volume(ConsumerRecord<byte[], byte[]> r) {
        if (r.key() == null) {
            throw new IllegalArgumentException("kafka record key: null (expected: volume id) topic=" + r.topic()
                    + " offset=" + r.offset());
        }
        return new VolumeIdentity(new String(r.key(), StandardCharsets.UTF_8),
                ByteBuffer.wrap(header(r, SIZE_HEADER, 8)).getLong(),
                ByteBuffer.wrap(header(r, BLOCK_HEADER, 4)).getInt(),
                new String(header(r, SOURCE_HEADER, -1), StandardCharsets.UTF_8));
    }

    private static byte[] header(ConsumerRecord<byte[], byte[]> r, String name, int length) {
        return header(r, r.headers().lastHeader(name), name, length);
    }

    /** The value of {@code h}, the record's header {@code name}, checked as {@link #header(ConsumerRecord, String, int)} does. */
    private static byte[] header(ConsumerRecord<byte[], byte[]> r, Header h, String name, int length) {
        if (h == null || h.value() == null || (length >= 0 && h.value().length != length)) {
            throw new IllegalArgumentException("kafka record header " + name + ": "
                    + (h == null || h.value() == null ? "missing" : h.value().length + " bytes")
                    + " (expected: " + (length < 0 ? "present" : length + " bytes") + ") topic=" + r.topic()
                    + " offset=" + r.offset());
        }
        return h.value();
    }
}
