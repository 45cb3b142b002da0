package io.tapline.tools;

import java.nio.file.Path;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * Kafka in the test's JVM for the tapline processes it starts: KRaft, one controller and three
 * brokers, replication factor 3, {@code min.insync.replicas=2}. A restarted broker keeps its port.
 */
final class KafkaBrokers implements AutoCloseable {
    static final int BROKERS = 3;
    private final KafkaClusterTestKit kit;

    private KafkaBrokers(KafkaClusterTestKit kit) {
        this.kit = kit;
    }

    static KafkaBrokers start(Path dir) throws Exception {
        TestKitNodes nodes = new TestKitNodes.Builder().setCombined(false).setNumControllerNodes(1)
                .setNumBrokerNodes(BROKERS).setBaseDirectory(dir).build();
        KafkaClusterTestKit kit = new KafkaClusterTestKit.Builder(nodes)
                .setConfigProp("default.replication.factor", "3")
                .setConfigProp("min.insync.replicas", "2")
                .setConfigProp("offsets.topic.replication.factor", "3")
                .setConfigProp("offsets.topic.num.partitions", "3")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("unclean.leader.election.enable", "false")
                .setConfigProp("message.max.bytes", Integer.toString(72 << 20))
                .setConfigProp("replica.fetch.max.bytes", Integer.toString(72 << 20))
                .build();
        kit.format();
        kit.startup();
        kit.waitForReadyBrokers();
        return new KafkaBrokers(kit);
    }

    String bootstrap() {
        return kit.bootstrapServers();
    }

    void stopBroker(int id) {
        var broker = kit.brokers().get(id);
        broker.shutdown();
        broker.awaitShutdown();
    }

    void startBroker(int id) {
        kit.brokers().get(id).startup();
    }

    void awaitBrokers() throws Exception {
        kit.waitForReadyBrokers();
    }

    @Override
    public void close() throws Exception {
        kit.close();
    }
}
