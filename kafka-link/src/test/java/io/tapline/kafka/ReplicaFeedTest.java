package io.tapline.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.undo.UndoConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicaFeedTest {
    private static final VolumeIdentity VOL = new VolumeIdentity("v", 1 << 20, 4096, "src");
    private static final long BUFFER = 0xb0ffe7L;
    @TempDir
    Path data;
    private long nextOffset;

    @Test
    void skipsRecordsAtOrBelowTheAppliedSequenceAndAppliesEachOnce() throws Exception {
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) {
            ReplicaFeed.Outcome o = feed.consume(records(1, 2, 3, 2, 3, 4));
            assertFalse(o.stopped());
            assertEquals(4, feed.lastApplied());
            assertEquals(6, o.nextOffset());
            feed.consume(records(3, 4, 5));
            assertEquals(5, feed.lastApplied());
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), auditedSequences());
        assertEquals(new KafkaPosition(5, 9, BUFFER), KafkaPosition.read(data.resolve("v")));
    }

    @Test
    void waitsPastRecordsAheadUntilTheShippersResendFillsTheGap() throws Exception {
        // As KafkaLinkIT saw it: a producer's batch 3 failed in an outage, its batch 4..5 was written,
        // and the next session resent 3, 4, 5 after them.
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) {
            ReplicaFeed.Outcome o = feed.consume(records(1, 2, 4, 5));
            assertFalse(o.stopped(), feed.error());
            assertEquals(2, feed.lastApplied());
            assertEquals(4, o.nextOffset(), "the records ahead were read past");
            Path failed = data.resolve("v").resolve("failed"); // what status --data reads (probe P D5)
            assertTrue(java.nio.file.Files.readString(failed).startsWith("kafka feed waiting: seq 3 has not come"),
                    "not consistent while waiting");
            o = feed.consume(records(3, 4, 5, 6));
            assertFalse(o.stopped(), feed.error());
            assertEquals(6, feed.lastApplied());
            assertFalse(java.nio.file.Files.exists(failed), "the gap filled: consistent again");
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), auditedSequences(), "each once, in order");
    }

    @Test
    void aHoleNoResendFillsMarksTheReplicaOutOfSyncAndAFullCopyHealsIt() throws Exception {
        // The topic's retention deleted seq 3 while the site was away: after the skip budget the
        // replica is out of sync (status, audit), records are skipped until a RESYNC_BEGIN, and the
        // full copy it starts makes the replica consistent again.
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT, 10_000)) {
            ReplicaFeed.Outcome o = feed.consume(records(1, 2, 4, 5, 6));
            assertFalse(o.stopped(), "a site waits for the resync rather than stop: " + feed.error());
            assertEquals(2, feed.lastApplied());
            io.tapline.replay.VolumeStatus v = feed.volumeStatus(true);
            assertEquals("out-of-sync", v.state(), v.toString());
            assertEquals(2, v.consistentSequence(), v.toString());
            assertEquals(5, o.nextOffset(), "read past the skipped records");
            List<ConsumerRecord<byte[], byte[]>> copy = new ArrayList<>(records(7));
            copy.add(marker(8, RecordKind.RESYNC_BEGIN, new io.tapline.log.ResyncEpoch(9, true, "requested", 0)));
            copy.addAll(records(9));
            copy.add(marker(10, RecordKind.RESYNC_END, new io.tapline.log.ResyncEpoch(9, true, "copied", 0)));
            o = feed.consume(copy);
            assertFalse(o.stopped(), feed.error());
            assertEquals(10, feed.lastApplied());
            v = feed.volumeStatus(true);
            assertEquals("consistent", v.state(), "the full copy healed it: " + v);
        }
        assertEquals(List.of(1L, 2L, 8L, 9L, 10L), auditedSequences());
        boolean refused = false;
        for (AuditEntry e : AuditLog.read(data.resolve("v"))) {
            refused |= e.type() == AuditType.REFUSED && e.detail().contains("seq 3 never came");
        }
        assertTrue(refused, "the hole is audited");
    }

    @Test
    void aSequenceCountedAsGoneThatComesAfterAllIsAppliedAndTheFeedGoesOn() throws Exception {
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT, 10_000)) {
            feed.consume(records(1, 2, 4, 5, 6));
            assertTrue(feed.awaitingResync());
            ReplicaFeed.Outcome o = feed.consume(records(3, 4, 5, 6, 7));
            assertFalse(o.stopped(), feed.error());
            assertEquals(7, feed.lastApplied());
            assertFalse(feed.awaitingResync(), "back to waiting past an outage's gaps, not skipping everything ahead");
            assertEquals("out-of-sync", feed.volumeStatus(true).state(), "marked once: only a resync clears it");
        }
    }

    @Test
    void aCopyOfChunksDoesNotHealAReplicaThatLostRecordsToAHole() throws Exception {
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT, 10_000)) {
            feed.consume(records(1, 2, 4, 5, 6));
            List<ConsumerRecord<byte[], byte[]>> copy = new ArrayList<>();
            copy.add(marker(7, RecordKind.RESYNC_BEGIN, new io.tapline.log.ResyncEpoch(9, false, "tracked", 1)));
            copy.add(marker(8, RecordKind.RESYNC_END, new io.tapline.log.ResyncEpoch(9, false, "copied", 1)));
            feed.consume(copy);
            assertEquals(8, feed.lastApplied());
            assertEquals("out-of-sync", feed.volumeStatus(true).state(), "seq 3..6 never arrived");
        }
    }

    @Test
    void refusesARecreatedBuffersRecordsInsteadOfSkippingThemAsApplied() throws Exception {
        // Probe D7: a wedge restarted on a new, empty buffer shipped seq 1.. again to the same topic;
        // every site skipped them as applied and silently diverged from the primary.
        long other = 0x5eedL;
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) {
            feed.consume(records(1, 2, 3, 4, 5));
            List<ConsumerRecord<byte[], byte[]>> poll = new ArrayList<>(records(6));
            poll.addAll(recordsOf(other, 1, 2));
            ReplicaFeed.Outcome o = feed.consume(poll);
            assertTrue(o.stopped(), "refused, not skipped as applied");
            assertEquals(6, feed.lastApplied(), "what came before it is applied");
            assertTrue(feed.error().contains("record of capture buffer 5eed (seq 1; expected: buffer b0ffe7"),
                    feed.error());
            assertEquals(o.nextOffset(), poll.get(1).offset(), "resumes at the refused record, never past it");
        }
        try (ReplicaFeed again = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) { // a restarted replayer
            assertEquals(BUFFER, again.startedAt().bufferId());
            assertTrue(again.consume(recordsOf(other, 1, 2, 3, 7)).stopped(), "still refused after a restart");
            assertEquals(6, again.lastApplied());
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), auditedSequences());
    }

    @Test
    void recordsWithoutABufferIdAreJudgedBySequenceAlone() throws Exception {
        // Topics written before records carried the id: such records never stop the feed.
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) {
            assertFalse(feed.consume(recordsOf(0, 1, 2, 3)).stopped(), feed.error());
            assertFalse(feed.consume(records(2, 3, 4)).stopped(), feed.error());
            assertFalse(feed.consume(recordsOf(0, 4, 5)).stopped(), feed.error());
            assertEquals(5, feed.lastApplied());
        }
    }

    @Test
    void readsFromTheBeginningWhenTheReplicaIsBehindItsStoredPosition() throws Exception {
        java.nio.file.Files.createDirectories(data.resolve("v"));
        new KafkaPosition(10, 10).write(data.resolve("v"));
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) {
            assertTrue(feed.consume(records(11)).rewindToBeginning());
            assertEquals(0, feed.lastApplied());
        }
    }

    private List<Long> auditedSequences() throws Exception {
        List<Long> seqs = new ArrayList<>();
        for (AuditEntry e : AuditLog.read(data.resolve("v"))) {
            if (e.type() == AuditType.RECORD) {
                seqs.add(e.sequence());
            }
        }
        return seqs;
    }

    @Test
    void aDamagedRecordIsSkippedAndTheGoodOnesOfItsPollAreApplied() throws Exception {
        // Probe P D3/D4: a damaged record at the next sequence failed the whole group (seq 1..3 with it),
        // stopped the volume, and its stored position passed the records never applied.
        try (ReplicaFeed feed = new ReplicaFeed("v", data, UndoConfig.DEFAULT)) {
            List<ConsumerRecord<byte[], byte[]>> poll = new ArrayList<>(records(1, 2, 3));
            ConsumerRecord<byte[], byte[]> good = records(4).get(0);
            byte[] junk = good.value().clone();
            junk[junk.length - 1] ^= 1; // its CRC-32C fails
            poll.add(new ConsumerRecord<>("t.v", 0, nextOffset++, 0L, TimestampType.CREATE_TIME, good.key().length,
                    junk.length, good.key(), junk, good.headers(), Optional.empty()));
            ReplicaFeed.Outcome o = feed.consume(poll);
            assertFalse(o.stopped(), feed.error());
            assertEquals(3, feed.lastApplied(), "the good records of the poll");
            o = feed.consume(records(4, 5)); // a valid copy of 4 (a resend) and what follows
            assertFalse(o.stopped(), feed.error());
            assertEquals(5, feed.lastApplied());
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), auditedSequences(), "each once, the damaged one never");
    }

    private ConsumerRecord<byte[], byte[]> marker(long seq, RecordKind kind, io.tapline.log.ResyncEpoch epoch) {
        CaptureRecord r = CaptureRecord.seal("v", seq, 0, kind, 0, 0, 0, Provenance.INTERNAL, epoch.payload());
        ProducerRecord<byte[], byte[]> p = KafkaRecordFormat.toKafka("t.v", r, VOL, BUFFER);
        return new ConsumerRecord<>("t.v", 0, nextOffset++, 0L, TimestampType.CREATE_TIME, p.key().length,
                p.value().length, p.key(), p.value(), p.headers(), Optional.empty());
    }

    private List<ConsumerRecord<byte[], byte[]>> records(long... sequences) {
        return recordsOf(BUFFER, sequences);
    }

    /** Records of the capture buffer {@code bufferId} (0: records without the header, as before it existed). */
    private List<ConsumerRecord<byte[], byte[]>> recordsOf(long bufferId, long... sequences) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (long seq : sequences) {
            byte[] data = new byte[4096];
            java.util.Arrays.fill(data, (byte) seq);
            CaptureRecord r = CaptureRecord.seal("v", seq, 0, RecordKind.WRITE, (seq % 16) * 4096, 4096, 0,
                    Provenance.INTERNAL, data);
            ProducerRecord<byte[], byte[]> p = KafkaRecordFormat.toKafka("t.v", r, VOL, bufferId);
            if (bufferId == 0) {
                p.headers().remove(KafkaRecordFormat.BUFFER_HEADER);
            }
            out.add(new ConsumerRecord<>("t.v", 0, nextOffset++, 0L, TimestampType.CREATE_TIME, p.key().length,
                    p.value().length, p.key(), p.value(), p.headers(), Optional.empty()));
        }
        return out;
    }
}
