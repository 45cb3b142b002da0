package io.tapline.kafka;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.Compression;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocolException;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordKind;
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
 * session, a consumer that re-read after a restart or a rebalance); the next sequence is applied.
 *
 * <p>A record beyond it is first waited past: an idempotent producer whose batch failed during an
 * outage (expired, or refused for want of in-sync replicas) goes on to write its later batches
 * (Kafka bumps the producer's epoch), so the topic can hold 300, 329, 330, ... before the next
 * session resends 301, 302, ...: the shipper's cursor never passes a record Kafka did not
 * acknowledge, so every record after such a gap comes again after the missing ones. Records ahead
 * are therefore skipped (WARN once, INFO when the gap is filled), up to {@link #MAX_SKIPPED_AHEAD_BYTES}
 * (many times a shipper's 64 MiB window). A RESYNC_BEGIN ahead is handed to the apply path at
 * once, which accepts the hole before it.
 *
 * <p>Past that budget the missing records are gone for good (the topic's retention deleted them
 * while the site was away): the replica is marked out of sync from the first missing sequence
 * ({@link LocalReplica#recordsMissing}: durable, audited, shown by status), and the feed goes on
 * skipping records until a RESYNC_BEGIN, which the apply path accepts across the hole; a full copy
 * ({@code tapline resync --full} on the source) makes the replica consistent again.
 * Example: applied 10, records 9, 10, 11, 12, 11, 12, 13 apply 11, 12, 13 once each; applied 10
 * and records 12, 13, 11, 12, 13 skip the first 12 and 13, then apply 11, 12, 13.
 *
 * <p>A topic holds one capture buffer's history: a record whose {@code tapline.buffer} header names
 * another buffer than the one the replica applied records of (kept in {@link KafkaPosition}) stops
 * the feed with the reason, whatever its sequence: a buffer recreated empty numbers from 1 again,
 * and its records would otherwise be skipped as applied while the replica silently diverged.
 * Records without the header (written before records carried it) are judged by sequence alone.
 *
 * <p>Not thread-safe: runs on the replayer's consumer thread; {@link #status} from any thread.
 */
final class ReplicaFeed implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaFeed.class);
    /** Bytes of records applied as one group (one undo, replica, audit and state sync). */
    static final int GROUP_BYTES = 8 << 20;
    /** Bytes of records ahead of the next sequence skipped while waiting for it, before it counts as a hole. */
    static final long MAX_SKIPPED_AHEAD_BYTES = 1L << 30;

    /** What one {@link #consume} did, for the consumer. */
    record Outcome(long nextOffset, boolean rewindToBeginning, boolean stopped) {
    }

    private final String volumeId;
    private final Path dataDir;
    private final UndoConfig undo;
    private final KafkaPosition startedAt;
    private final long maxSkippedAheadBytes;
    private LocalReplica replica;
    private long nextBatchId = 1;
    private volatile String error = "";
    private volatile long lastApplied;
    /** Bytes of records ahead of the next sequence skipped since it was last applied. */
    private long skippedAheadBytes;
    private long skippedAheadRecords;
    /** The records from the next sequence on are gone for good: skipping until a RESYNC_BEGIN. */
    private boolean awaitingResync;
    /** The capture buffer whose records the replica applied, or 0 while none that named one. */
    private long bufferId;

    ReplicaFeed(String volumeId, Path dataDir, UndoConfig undo) {
        this(volumeId, dataDir, undo, MAX_SKIPPED_AHEAD_BYTES);
    }

    /** A feed that counts a gap as a hole once {@code maxSkippedAheadBytes} were skipped waiting for it (tests). */
    ReplicaFeed(String volumeId, Path dataDir, UndoConfig undo, long maxSkippedAheadBytes) {
        this.maxSkippedAheadBytes = maxSkippedAheadBytes;
        this.volumeId = volumeId;
        this.dataDir = dataDir;
        this.undo = undo;
        this.startedAt = KafkaPosition.read(dataDir.resolve(volumeId));
        this.bufferId = startedAt == null ? 0 : startedAt.bufferId();
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
            long groupStartOffset = records.get(i).offset();
            long expected = replica.lastApplied() + 1;
            long first = expected;
            ByteArrayOutputStream fresh = new ByteArrayOutputStream();
            int count = 0;
            ConsumerRecord<byte[], byte[]> beyond = null;
            ConsumerRecord<byte[], byte[]> holeAt = null;
            ConsumerRecord<byte[], byte[]> foreign = null;
            long groupBufferId = bufferId;
            while (i < records.size() && fresh.size() < GROUP_BYTES) {
                ConsumerRecord<byte[], byte[]> r = records.get(i);
                long seq = KafkaRecordFormat.sequence(r);
                long from = KafkaRecordFormat.bufferId(r);
                if (from != 0 && groupBufferId != 0 && from != groupBufferId) {
                    foreign = r; // what came before is applied first, then the feed stops
                    break;
                }
                if (seq > expected) {
                    if (isResyncBegin(r) || isRecordsLostGap(r)) {
                        beyond = r; // a resync's jump, or the source's GAP over records it never had: the apply path accepts the hole before it
                        groupBufferId = from == 0 ? groupBufferId : from;
                        break;
                    }
                    if (!awaitingResync && !waitPast(r, seq, expected)) {
                        holeAt = r; // what came before is applied first, then the hole is marked
                        break;
                    }
                    // skipped: it comes again after the missing ones, or (awaiting a resync) it is not applied
                }
                i++;
                nextOffset = r.offset() + 1;
                if (seq == expected && damaged(r, seq)) {
                    continue; // as if missing: a valid copy (a resend) is applied, else the hole is found as any
                }
                if (seq == expected) {
                    gapFilled(expected);
                    awaitingResync = false; // came after all: applied (the replica stays out of sync until a resync)
                    fresh.write(r.value(), 0, r.value().length);
                    count++;
                    expected++;
                    groupBufferId = from == 0 ? groupBufferId : from;
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
                if (holeAt != null) {
                    missingForGood(holeAt, expected);
                }
                if (foreign != null) {
                    return refuseForeign(foreign);
                }
                continue;
            }
            try {
                replica.apply(batches);
            } catch (JourneyProtocolException e) {
                stop(e.getMessage()); // sets lastApplied
                // Never past what was applied: a restart reads this group again (what it applied is
                // skipped as at or below the applied sequence). Past it, the records of the group that
                // were not applied were skipped for ever (probe P D4: position "0 10" over seq 1..9).
                new KafkaPosition(replica.lastApplied(), groupStartOffset, bufferId).write(dataDir.resolve(volumeId));
                return new Outcome(groupStartOffset, false, true);
            }
            bufferId = groupBufferId;
            if (beyond != null) {
                i++;
                nextOffset = beyond.offset() + 1;
                if (awaitingResync) {
                    awaitingResync = false;
                    log.info("kafka hole crossed volume={} at RESYNC_BEGIN seq={}: the resync heals the replica (a"
                            + " full one makes it consistent)", volumeId, KafkaRecordFormat.sequence(beyond));
                }
                skippedAheadBytes = 0;
                skippedAheadRecords = 0;
            }
            lastApplied = replica.lastApplied();
            new KafkaPosition(replica.lastApplied(), nextOffset, bufferId).write(dataDir.resolve(volumeId));
            if (holeAt != null) {
                missingForGood(holeAt, replica.lastApplied() + 1);
            }
            if (foreign != null) {
                return refuseForeign(foreign);
            }
        }
        if (awaitingResync) {
            new KafkaPosition(replica.lastApplied(), nextOffset, bufferId).write(dataDir.resolve(volumeId)); // past the skipped
        }
        return new Outcome(nextOffset, false, false);
    }

    /**
     * Stops the feed at {@code r}, a record of another capture buffer than the one the replica
     * applied: the stored position stays before it, so a restart refuses it again.
     */
    private Outcome refuseForeign(ConsumerRecord<byte[], byte[]> r) throws IOException {
        stop("kafka topic " + r.topic() + " offset " + r.offset() + ": record of capture buffer "
                + Long.toHexString(KafkaRecordFormat.bufferId(r)) + " (seq " + KafkaRecordFormat.sequence(r)
                + "; expected: buffer " + Long.toHexString(bufferId) + ", whose records this replica applied): a topic"
                + " holds one buffer's history (was the source's buffer recreated?); replay the new one into a new"
                + " --data folder");
        new KafkaPosition(replica.lastApplied(), r.offset(), bufferId).write(dataDir.resolve(volumeId));
        return new Outcome(r.offset(), false, true);
    }

    /**
     * The record ahead of {@code expected} is past the skip budget, so {@code expected} and what
     * follows are not coming (the topic's retention): the replica is marked out of sync, once, and
     * the feed skips records until a resync's RESYNC_BEGIN.
     */
    private void missingForGood(ConsumerRecord<byte[], byte[]> r, long expected) throws IOException {
        awaitingResync = true;
        replica.feedGoesOn(); // no longer waiting: out of sync from here (recordsMissing), which status says
        String why = "kafka topic hole: seq " + expected + " never came (" + skippedAheadRecords + " records, "
                + skippedAheadBytes + " bytes ahead of it skipped; seq " + KafkaRecordFormat.sequence(r) + " at offset "
                + r.offset() + "): the topic's retention deleted it; run tapline resync --full on the source";
        replica.recordsMissing(expected, "kafka", why);
        log.error("replica feed volume={} {}; records are skipped until a RESYNC_BEGIN", volumeId, why);
    }

    /**
     * Whether a record ahead of {@code expected} is skipped, to be applied when the shipper's
     * resend brings it again (see the class comment), rather than refused as a hole.
     */
    private boolean waitPast(ConsumerRecord<byte[], byte[]> r, long seq, long expected) {
        if (skippedAheadBytes + r.value().length > maxSkippedAheadBytes) {
            return false; // a hole no resend fills
        }
        if (skippedAheadRecords == 0) {
            log.warn("kafka record ahead of the next sequence skipped volume={} expected={} seq={} offset={}: a"
                    + " producer that failed during an outage wrote later records first; the shipper resends from"
                    + " the missing one", volumeId, expected, seq, r.offset());
            // Not consistent meanwhile (probe P D5: a site waiting for records retention had deleted said so).
            replica.feedWaiting("seq " + expected + " has not come since " + java.time.Instant.now() + ", records"
                    + " after it have (seq " + seq + " at offset " + r.offset() + "): a resend may bring it; if the"
                    + " topic's retention deleted it, the feed finds the hole after " + (maxSkippedAheadBytes >> 20)
                    + " MiB more (then tapline resync --full on the source)");
        }
        skippedAheadBytes += r.value().length;
        skippedAheadRecords++;
        return true;
    }

    /**
     * Whether the record at the next sequence is damaged (does not decode, fails its CRC-32C, or
     * its value's sequence is not its header's): skipped with a WARN, never applied, never a stop.
     * Applied with the good records before it in one group, it failed the group and stopped the
     * volume with them unapplied (probe P D3, D4).
     */
    private boolean damaged(ConsumerRecord<byte[], byte[]> r, long seq) {
        String problem;
        try {
            long inValue = RecordCodec.decode(java.nio.ByteBuffer.wrap(r.value())).sequence();
            problem = inValue == seq ? null : "its value's sequence is " + inValue;
        } catch (RuntimeException e) {
            problem = e.getMessage();
        }
        if (problem != null) {
            log.warn("damaged kafka record skipped volume={} seq={} offset={}: {}; a valid copy is applied when it"
                    + " comes, else the missing sequence is a hole", volumeId, seq, r.offset(), problem);
        }
        return problem != null;
    }

    /** Whether the record is a RESYNC_BEGIN; a damaged one is not (the apply path refuses it). */
    private static boolean isResyncBegin(ConsumerRecord<byte[], byte[]> r) {
        try {
            return RecordCodec.decode(java.nio.ByteBuffer.wrap(r.value())).kind() == RecordKind.RESYNC_BEGIN;
        } catch (RuntimeException e) {
            return true; // not waited past: handed to the apply path, whose checks name the damage
        }
    }

    /** A GAP after which a replica further back continues (the source numbered past records it never had). */
    private static boolean isRecordsLostGap(ConsumerRecord<byte[], byte[]> r) {
        try {
            return RecordCodec.decode(java.nio.ByteBuffer.wrap(r.value())).recordsLostBefore();
        } catch (RuntimeException e) {
            return true; // as isResyncBegin: the apply path names the damage
        }
    }

    private void gapFilled(long expected) {
        if (skippedAheadRecords > 0) {
            replica.feedGoesOn();
            log.info("kafka gap filled volume={} seq={}: {} records ({} bytes) ahead of it were skipped and come"
                    + " again after it", volumeId, expected, skippedAheadRecords, skippedAheadBytes);
            skippedAheadRecords = 0;
            skippedAheadBytes = 0;
        }
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
        if (replica != null) {
            lastApplied = replica.lastApplied();
            replica.feedStopped(why); // status --data says failed with it, not consistent (probe P D3)
        }
        log.error("replica feed stopped volume={} lastApplied={} reason={}", volumeId, lastApplied, why);
    }

    /** Whether the feed skips every record until a RESYNC_BEGIN (a sequence it counted as gone for good). */
    boolean awaitingResync() {
        return awaitingResync;
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
