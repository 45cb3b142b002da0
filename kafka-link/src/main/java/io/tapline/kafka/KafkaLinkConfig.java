package io.tapline.kafka;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Where the command log lives on Kafka and how the clients talk to it: shared by
 * {@link KafkaShipper} and {@link KafkaReplayer}.
 *
 * @param bootstrapServers   {@code host:port,...} of some brokers
 * @param topicPrefix        a volume's topic is {@code topicPrefix + volumeId}
 * @param replicationFactor  copies of each topic the shipper creates (3 in production)
 * @param minInsyncReplicas  copies that must have a record before it counts as written ({@code acks=all})
 * @param compression        Kafka's {@code compression.type} for the producer: lz4, zstd or none
 * @param maxInFlightBytes   bytes sent and not yet acknowledged by Kafka, at most (the window)
 * @param requestTimeout     how long one request to a broker may take before it counts as failed
 * @param deliveryTimeout    how long a record may wait for Kafka before the link counts as down
 */
public record KafkaLinkConfig(String bootstrapServers, String topicPrefix, short replicationFactor,
        int minInsyncReplicas, String compression, long maxInFlightBytes, Duration requestTimeout,
        Duration deliveryTimeout) {
    public static final String DEFAULT_TOPIC_PREFIX = "tapline.";

    public KafkaLinkConfig {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(topicPrefix, "topicPrefix");
        Objects.requireNonNull(compression, "compression");
        if (bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("bootstrapServers: empty (expected: host:port[,host:port...])");
        }
        if (!topicPrefix.matches("[A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("topicPrefix: " + topicPrefix + " (expected: letters, digits, . _ -)");
        }
        if (replicationFactor < 1 || minInsyncReplicas < 1 || minInsyncReplicas > replicationFactor) {
            throw new IllegalArgumentException("replicationFactor " + replicationFactor + " minInsyncReplicas "
                    + minInsyncReplicas + " (expected: 1 <= minInsyncReplicas <= replicationFactor)");
        }
    }

    /** Production defaults: 3 copies, 2 in sync, lz4, a 64 MiB window, 5 s requests, 15 s delivery. */
    public static KafkaLinkConfig of(String bootstrapServers) {
        return new KafkaLinkConfig(bootstrapServers, DEFAULT_TOPIC_PREFIX, (short) 3, 2, "lz4", 64L << 20,
                Duration.ofSeconds(5), Duration.ofSeconds(15));
    }

    public KafkaLinkConfig withTopicPrefix(String prefix) {
        return new KafkaLinkConfig(bootstrapServers, prefix, replicationFactor, minInsyncReplicas, compression,
                maxInFlightBytes, requestTimeout, deliveryTimeout);
    }

    public KafkaLinkConfig withReplication(short factor, int minInsync) {
        return new KafkaLinkConfig(bootstrapServers, topicPrefix, factor, minInsync, compression, maxInFlightBytes,
                requestTimeout, deliveryTimeout);
    }

    public KafkaLinkConfig withCompression(String type) {
        return new KafkaLinkConfig(bootstrapServers, topicPrefix, replicationFactor, minInsyncReplicas, type,
                maxInFlightBytes, requestTimeout, deliveryTimeout);
    }

    /** Other request and delivery timeouts (tests: a Kafka outage shows within seconds). */
    public KafkaLinkConfig withShortTimeouts(Duration request, Duration delivery) {
        return new KafkaLinkConfig(bootstrapServers, topicPrefix, replicationFactor, minInsyncReplicas, compression,
                maxInFlightBytes, request, delivery);
    }

    /** The topic of {@code volumeId}. */
    public String topic(String volumeId) {
        return KafkaRecordFormat.topic(topicPrefix, volumeId);
    }

    /**
     * The producer: idempotent, {@code acks=all} (with the topic's {@code min.insync.replicas}, a
     * record counts as written once that many brokers have it), ordered (at most 5 requests in
     * flight keeps the order with idempotence), 1 MiB batches after up to 5 ms, Kafka's compression.
     */
    Map<String, Object> producerProperties(String clientId) {
        Map<String, Object> p = common(clientId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 1 << 20);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, maxInFlightBytes * 2));
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 72 << 20); // one record may carry up to 64 MiB
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                (int) Math.max(deliveryTimeout.toMillis(), requestTimeout.toMillis() + 10));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, requestTimeout.toMillis());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return p;
    }

    /** The consumer of one replica site: its own group, offsets committed by hand (a hint only). */
    Map<String, Object> consumerProperties(String clientId, String site) {
        Map<String, Object> p = common(clientId);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "tapline-replay-" + site);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 16 << 20);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000);
        // A replayer killed and restarted gets its volumes back after this long (the default 45 s).
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 2_000);
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 5000); // new volumes' topics are found within seconds
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return p;
    }

    Map<String, Object> adminProperties(String clientId) {
        return common(clientId);
    }

    private Map<String, Object> common(String clientId) {
        Map<String, Object> p = new HashMap<>();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        p.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, (int) requestTimeout.toMillis());
        p.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) Math.max(requestTimeout.toMillis(), 5000));
        p.put(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        return p;
    }
}
