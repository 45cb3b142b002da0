package io.tapline.kafka;

import io.tapline.log.undo.UndoConfig;
import io.tapline.replay.VolumeStatus;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica site's replayer on Kafka: one consumer in the site's group ({@code tapline-replay-<site>})
 * subscribed to the volumes' topics, feeding each assigned volume's replica in {@code dataDir}
 * through {@link ReplicaFeed}. Several sites consume the same topics independently (one group each);
 * several replayers of one site share the volumes (Kafka balances the partitions between them).
 *
 * <p>Position: where a replica resumes is decided by its applied sequence, not by Kafka. On
 * assignment the consumer seeks to the replica's {@code kafka.position} (or the topic's beginning
 * when there is none); what it re-reads is skipped by sequence. The group's committed offsets are
 * updated after each applied poll for monitoring (consumer lag) only.
 *
 * <p>The data directory is locked ({@code <data>/.lock}, as {@code ReplayServer} locks it) while the
 * replayer runs: a second replayer, of Kafka or of the journey link, is refused on it.
 *
 * <p>Threads: one consumer thread ({@code tapline-kafka-replay-<site>}) polls and applies;
 * {@link #status()} and {@link #close()} from any thread.
 */
public final class KafkaReplayer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(KafkaReplayer.class);

    /** One volume's state as this replayer sees it. */
    public record FeedStatus(String volumeId, long lastApplied, String error, VolumeStatus volume) {
    }

    private final KafkaLinkConfig config;
    private final String site;
    private final Path dataDir;
    private final UndoConfig undo;
    private final Pattern topics;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final io.tapline.log.ExclusiveLock dataLock;
    private final Map<TopicPartition, ReplicaFeed> feeds = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile String lastError = "";
    private volatile java.util.function.Consumer<String> onFailure = why -> { };
    /** Bytes a feed skips ahead of a missing sequence before it counts as gone ({@link ReplicaFeed}). */
    private volatile long maxSkippedAheadBytes = ReplicaFeed.MAX_SKIPPED_AHEAD_BYTES;

    private KafkaReplayer(KafkaLinkConfig config, String site, Path dataDir, String volumesGlob, UndoConfig undo,
            io.tapline.log.ExclusiveLock dataLock) {
        this.dataLock = dataLock;
        this.config = config;
        this.site = site;
        this.dataDir = dataDir;
        this.undo = undo;
        this.topics = Pattern.compile(Pattern.quote(config.topicPrefix()) + globToRegex(volumesGlob));
        this.consumer = new KafkaConsumer<>(config.consumerProperties("tapline-replay-" + site, site));
        this.thread = new Thread(this::run, "tapline-kafka-replay-" + site);
        this.thread.setDaemon(true);
    }

    /**
     * Starts consuming the topics of the volumes that match {@code volumesGlob} ({@code *} any
     * characters, {@code ?} one) for replica site {@code site}, into {@code dataDir}.
     */
    public static KafkaReplayer start(KafkaLinkConfig config, String site, Path dataDir, String volumesGlob,
            UndoConfig undo) throws IOException {
        Objects.requireNonNull(site, "site");
        if (!site.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("site: " + site + " (expected: letters, digits, . _ -)");
        }
        // The same lock as the journey replayer's: one process feeds a data directory's replicas.
        java.nio.file.Files.createDirectories(dataDir);
        io.tapline.log.ExclusiveLock lock = io.tapline.log.ExclusiveLock.acquire(dataDir.resolve(".lock"), "data",
                dataDir);
        KafkaReplayer r;
        try {
            r = new KafkaReplayer(config, site, dataDir, volumesGlob, undo, lock);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        r.thread.start();
        log.info("kafka replayer started site={} brokers={} topics={} data={}", site, config.bootstrapServers(),
                r.topics, dataDir);
        return r;
    }

    /** The volumes assigned to this replayer now. */
    public List<FeedStatus> status() {
        List<FeedStatus> out = new ArrayList<>();
        for (ReplicaFeed f : feeds.values()) {
            out.add(new FeedStatus(f.volumeId(), f.lastApplied(), f.error(), f.volumeStatus(true)));
        }
        return out;
    }

    /** Feeds assigned from now on count a missing sequence as gone after {@code bytes} skipped (tests). */
    KafkaReplayer maxSkippedAheadBytes(long bytes) {
        this.maxSkippedAheadBytes = bytes;
        return this;
    }

    /** The replica of {@code volumeId} if this replayer holds it now and its first record opened it. */
    public java.util.Optional<VolumeStatus> volumeStatus(String volumeId) {
        for (ReplicaFeed f : feeds.values()) {
            if (f.volumeId().equals(volumeId)) {
                return java.util.Optional.ofNullable(f.volumeStatus(true));
            }
        }
        return java.util.Optional.empty();
    }

        /** The last applied sequence of {@code volumeId} if this replayer holds it now, else -1. */
    public long lastApplied(String volumeId) {
        for (ReplicaFeed f : feeds.values()) {
            if (f.volumeId().equals(volumeId)) {
                return f.lastApplied();
            }
        }
        return -1;
    }

    /**
     * Runs {@code listener} with the reason when the consumer stops for good (an error no retry
     * mends, e.g. refused authorization): the CLI exits then rather than run on without applying.
     */
    public void onFailure(java.util.function.Consumer<String> listener) {
        this.onFailure = java.util.Objects.requireNonNull(listener, "listener");
    }

    /** Why the consumer last failed, or empty. */
    public String lastError() {
        return lastError;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        consumer.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("kafka replayer stopped site={}", site);
    }

    private void run() {
        try {
            consumer.subscribe(topics, new Rebalance());
            while (!closed) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
                Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
                for (TopicPartition tp : records.partitions()) {
                    ReplicaFeed feed = feeds.get(tp);
                    if (feed == null || !feed.error().isEmpty()) {
                        continue;
                    }
                    consume(tp, feed, records, done);
                }
                if (!done.isEmpty()) {
                    consumer.commitAsync(done, null); // a hint for monitoring: the replica's sequence decides
                }
            }
        } catch (WakeupException e) {
            if (!closed) {
                lastError = "woken up";
            }
        } catch (RuntimeException e) {
            lastError = e.toString();
            log.error("kafka replayer failed site={} error={}", site, e.toString());
        } finally {
            closeFeeds(feeds.keySet());
            consumer.close(Duration.ofSeconds(5));
            try {
                dataLock.close();
            } catch (IOException e) {
                log.warn("data lock not released dir={} error={}", dataDir, e.toString());
            }
        }
        if (!closed) {
            onFailure.accept("kafka replayer of site " + site + " stopped: " + lastError);
        }
    }

    private void consume(TopicPartition tp, ReplicaFeed feed, ConsumerRecords<byte[], byte[]> records,
            Map<TopicPartition, OffsetAndMetadata> done) {
        List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> list = records.records(tp);
        try {
            ReplicaFeed.Outcome o = feed.consume(list);
            if (o.rewindToBeginning()) {
                consumer.seekToBeginning(List.of(tp));
                return;
            }
            if (o.stopped()) {
                consumer.pause(List.of(tp));
            } else if (o.nextOffset() <= list.get(list.size() - 1).offset()) {
                consumer.seek(tp, o.nextOffset()); // stopped before the end of this poll's records
            }
            done.put(tp, new OffsetAndMetadata(o.nextOffset()));
        } catch (IOException | RuntimeException e) {
            feed.stop(e.getMessage() == null ? e.toString() : e.getMessage());
            consumer.pause(List.of(tp));
        }
    }

    private void closeFeeds(Collection<TopicPartition> parts) {
        for (TopicPartition tp : new ArrayList<>(parts)) {
            ReplicaFeed f = feeds.remove(tp);
            if (f != null) {
                try {
                    f.close();
                } catch (IOException e) {
                    log.error("replica close failed volume={} error={}", f.volumeId(), e.toString());
                }
            }
        }
    }

    /** Opens a feed per assigned partition and seeks to its replica's position. */
    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
            for (TopicPartition tp : parts) {
                String volumeId = tp.topic().substring(config.topicPrefix().length());
                ReplicaFeed feed = new ReplicaFeed(volumeId, dataDir, undo, maxSkippedAheadBytes);
                feeds.put(tp, feed);
                if (feed.startedAt() == null) {
                    consumer.seekToBeginning(List.of(tp));
                } else {
                    consumer.seek(tp, feed.startedAt().nextOffset());
                }
                log.info("volume assigned site={} volume={} partition={} position={}", site, volumeId, tp.partition(),
                        feed.startedAt());
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
            closeFeeds(parts);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> parts) {
            closeFeeds(parts);
        }
    }

    /** {@code *} any characters, {@code ?} one, everything else literal. */
    static String globToRegex(String glob) {
        StringBuilder b = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (char c : glob.toCharArray()) {
            if (c == '*' || c == '?') {
                if (literal.length() > 0) {
                    b.append(Pattern.quote(literal.toString()));
                    literal.setLength(0);
                }
                b.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        if (literal.length() > 0) {
            b.append(Pattern.quote(literal.toString()));
        }
        return b.toString();
    }
}
