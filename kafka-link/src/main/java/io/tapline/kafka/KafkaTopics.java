package io.tapline.kafka;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a volume's topic when it does not exist: one partition (the order of a volume's records
 * is the partition's order), the configured replication factor and {@code min.insync.replicas},
 * and no compaction (every record matters; retention is the operator's choice and decides how far
 * back auditors can read and how long a replica may be away).
 */
final class KafkaTopics {
    private static final Logger log = LoggerFactory.getLogger(KafkaTopics.class);

    private KafkaTopics() {
    }

    /** Returns once {@code topic} exists: true when this call created it (it holds no record yet). */
    static boolean ensure(KafkaLinkConfig config, String topic) throws java.io.IOException, InterruptedException {
        try (Admin admin = Admin.create(config.adminProperties("tapline-admin-" + topic))) {
            NewTopic t = new NewTopic(topic, 1, config.replicationFactor()).configs(Map.of(
                    TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(config.minInsyncReplicas()),
                    TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                    TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(72 << 20)));
            admin.createTopics(List.of(t)).all().get(config.requestTimeout().toMillis() * 2, TimeUnit.MILLISECONDS);
            log.info("topic created topic={} replicationFactor={} minInsyncReplicas={}", topic,
                    config.replicationFactor(), config.minInsyncReplicas());
            return true;
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new java.io.IOException("create topic " + topic + ": " + e.getCause().getMessage(), e.getCause());
            }
            return false;
        } catch (TimeoutException e) {
            throw new java.io.IOException("create topic " + topic + ": no answer from " + config.bootstrapServers()
                    + " within " + config.requestTimeout().toMillis() * 2 + " ms", e);
        }
    }
}
