package io.tapline.kafka;

import java.nio.file.Path;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * Kafka in the test's JVM (this module's tests and, through its test jar, the tools module's): KRaft, one controller and three brokers, replication factor 3 and
 * {@code min.insync.replicas=2} by default. A broker that stops and starts again keeps its port
 * (the test kit binds the port it first got), so the clients' bootstrap list stays right.
 */
public final class KafkaCluster implements AutoCloseable {
    public static final int BROKERS = 3;
    private final KafkaClusterTestKit kit;

    private KafkaCluster(KafkaClusterTestKit kit) {
        this.kit = kit;
    }

    public static KafkaCluster start(Path dir) throws Exception {
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
        return new KafkaCluster(kit);
    }

    /** {@code localhost:port,...} of all brokers. */
    public String bootstrap() {
        return kit.bootstrapServers();
    }

    public String kitBootstrap() {
        return kit.bootstrapServers();
    }

    /** Stops broker {@code id} (0..2) as a shutdown would, and waits until it is down. */
    public void stopBroker(int id) {
        var broker = kit.brokers().get(id);
        broker.shutdown();
        broker.awaitShutdown();
    }

    /** Starts a stopped broker again on its port. */
    public void startBroker(int id) {
        kit.brokers().get(id).startup();
    }

    /** Waits until every broker answers again. */
    public void awaitBrokers() throws Exception {
        kit.waitForReadyBrokers();
    }

    @Override
    public void close() throws Exception {
        kit.close();
    }
}
