package io.tapline.kafka;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.Compression;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocolException;
import io.tapline.log.undo.UndoConfig;
import io.tapline.replay.LocalReplica;
import io.tapline.replay.RefusedException;
import io.tapline.replay.VolumeStatus;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One assigned partition (one volume) of a {@link KafkaReplayer}: turns the records a poll
 * returned into journey batches and applies them through {@link LocalReplica}, the replayer's own
 * apply path, so every check of the journey link holds here too.
 *
 * <p>Ordering contract: the applied sequence is the truth, Kafka offsets are a hint. Records at or
 * below the replica's last applied sequence are skipped (a producer that resent after a broken
 * session, a consumer that re-read after a restart or a rebalance); the next sequence is applied;
 * a record beyond it is a hole and is handed to the apply path, which refuses it: the feed then
 * stops (its partition is paused) with the reason in {@link #status}. Example: applied 10, records
 * 9, 10, 11, 12, 11, 12, 13 apply 11, 12, 13 once each; applied 10 and record 12 first: refused.
 *
 * <p>Not thread-safe: runs on the replayer's consumer thread; {@link #status} from any thread.
 */
final class ReplicaFeed implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaFeed.class);
    /** Bytes of records applied as one group (one undo, replica, audit and state sync). */
    static final int GROUP_BYTES = 8 << 20;

    /** What one {@link #consume} did, for the consumer. */
    record Outcome(long nextOffset, boolean rewindToBeginning, boolean stopped) {
    }

    private final String volumeId;
    private final Path dataDir;
    private final UndoConfig undo;
    private final KafkaPosition startedAt;
    private LocalReplica replica;
    private long nextBatchId = 1;
    private volatile String error = "";
    private volatile long lastApplied;

    ReplicaFeed(String volumeId, Path dataDir, UndoConfig undo) {
        this.volumeId = volumeId;
        this.dataDir = dataDir;
        this.undo = undo;
        this.startedAt = KafkaPosition.read(dataDir.resolve(volumeId));
    }

    /** Where to start reading: the stored position, or null for the beginning of the topic. */
    KafkaPosition startedAt() {
        return startedAt;
    }

    String volumeId() {
        return volumeId;
    }

    /**
     * Checks and applies {@code records} (one poll's worth, in offset order), in groups of at most
     * {@link #GROUP_BYTES}; durable on return.
     */
    Outcome consume(List<ConsumerRecord<byte[], byte[]>> records) throws IOException {
        if (replica == null) {
            open(KafkaRecordFormat.volume(records.get(0)));
            if (startedAt != null && replica.lastApplied() < startedAt.appliedSequence()) {
                log.warn("replica behind its kafka position volume={} applied={} position={}: reading the topic"
                        + " from its beginning", volumeId, replica.lastApplied(), startedAt);
                return new Outcome(-1, true, false);
            }
        }
        int i = 0;
        long nextOffset = records.get(0).offset();
        while (i < records.size()) {
            long expected = replica.lastApplied() + 1;
            long first = expected;
            ByteArrayOutputStream fresh = new ByteArrayOutputStream();
            int count = 0;
            ConsumerRecord<byte[], byte[]> beyond = null;
            while (i < records.size() && fresh.size() < GROUP_BYTES) {
                ConsumerRecord<byte[], byte[]> r = records.get(i);
                long seq = KafkaRecordFormat.sequence(r);
                if (seq > expected) {
                    beyond = r;
                    break;
                }
                i++;
                nextOffset = r.offset() + 1;
                if (seq == expected) {
                    fresh.write(r.value(), 0, r.value().length);
                    count++;
                    expected++;
                }
            }
            List<JourneyMessage.Batch> batches = new ArrayList<>(2);
            if (count > 0) {
                batches.add(batch(first, count, fresh.toByteArray()));
            }
            if (beyond != null) {
                // A RESYNC_BEGIN may jump (the apply path accepts it); anything else is refused there.
                batches.add(batch(KafkaRecordFormat.sequence(beyond), 1, beyond.value()));
            }
            if (batches.isEmpty()) {
                continue;
            }
            try {
                replica.apply(batches);
            } catch (JourneyProtocolException e) {
                lastApplied = replica.lastApplied();
                stop(e.getMessage());
                new KafkaPosition(replica.lastApplied(), nextOffset).write(dataDir.resolve(volumeId));
                return new Outcome(nextOffset, false, true);
            }
            if (beyond != null) {
                i++;
                nextOffset = beyond.offset() + 1;
            }
            lastApplied = replica.lastApplied();
            new KafkaPosition(replica.lastApplied(), nextOffset).write(dataDir.resolve(volumeId));
        }
        return new Outcome(nextOffset, false, false);
    }

    private void open(VolumeIdentity identity) throws IOException {
        if (!identity.volumeId().equals(volumeId)) {
            throw new JourneyProtocolException("kafka record volume: " + identity.volumeId() + " (expected: "
                    + volumeId + ", from the topic name)");
        }
        try {
            replica = LocalReplica.open(dataDir, identity.hello(), undo);
        } catch (RefusedException e) {
            throw new JourneyProtocolException("volume " + volumeId + " refused: " + e.getMessage(), e);
        }
        lastApplied = replica.lastApplied();
        log.info("replica feed opened volume={} lastApplied={} position={}", volumeId, lastApplied, startedAt);
    }

    private JourneyMessage.Batch batch(long first, int count, byte[] body) {
        return new JourneyMessage.Batch(nextBatchId++, first, first + count - 1, count, Compression.NONE, body.length,
                BatchCodec.crc32c(body, 0, body.length), body);
    }

    /** Stops feeding this volume for {@code why} (the consumer pauses its partition). */
    void stop(String why) {
        error = why;
        log.error("replica feed stopped volume={} lastApplied={} reason={}", volumeId, lastApplied, why);
    }

    /** Why the feed stopped, or empty while it runs. */
    String error() {
        return error;
    }

    long lastApplied() {
        return lastApplied;
    }

    /** The replica's status, or null before its first record opened it. */
    VolumeStatus volumeStatus(boolean connected) {
        LocalReplica r = replica;
        return r == null ? null : r.status(connected);
    }

    @Override
    public void close() throws IOException {
        if (replica != null) {
            replica.close();
            replica = null;
        }
    }
}
