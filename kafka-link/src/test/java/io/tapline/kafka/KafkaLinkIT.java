package io.tapline.kafka;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.undo.UndoConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command log on Kafka end to end, in one JVM: capture buffer → {@link KafkaShipper} → three
 * KRaft brokers (replication factor 3, min.insync.replicas 2) → a {@link KafkaReplayer} per site.
 */
class KafkaLinkIT {
    private static final int SIZE = 16 << 20;
    @TempDir
    static Path dir;
    private static KafkaCluster kafka;
    private static KafkaLinkConfig link;

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = KafkaCluster.start(dir.resolve("kafka"));
        link = KafkaLinkConfig.of(kafka.bootstrap()).withTopicPrefix("it.")
                .withShortTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(6));
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void twoSitesBothEqualThePrimary() throws Exception {
        try (SourceVolume src = new SourceVolume(dir.resolve("src1"), "vol1", SIZE, 1);
                KafkaShipper shipper = KafkaShipper.start(link, src.identity, src.buffer);
                KafkaReplayer east = KafkaReplayer.start(link, "east", dir.resolve("east"), "vol*", UndoConfig.DEFAULT);
                KafkaReplayer west = KafkaReplayer.start(link, "west", dir.resolve("west"), "vol1", UndoConfig.DEFAULT)) {
            src.write(2000);
            long last = src.buffer.lastSequence();
            awaitApplied(east, "vol1", last);
            awaitApplied(west, "vol1", last);
            assertReplicaEquals(src.primary, dir.resolve("east"), "vol1");
            assertReplicaEquals(src.primary, dir.resolve("west"), "vol1");
            assertEquals(last, src.buffer.acknowledged(KafkaShipper.CURSOR_ID));
            assertTrue(shipper.status().connected());
            assertEachSequenceOnce(dir.resolve("east"), "vol1", last);
            assertEachSequenceOnce(dir.resolve("west"), "vol1", last);
        }
    }

    @Test
    void replayerRestartAndBrokerStopMidStreamLoseNothingAndApplyOnce() throws Exception {
        Path site = dir.resolve("north");
        try (SourceVolume src = new SourceVolume(dir.resolve("src2"), "vol2", SIZE, 2);
                KafkaShipper shipper = KafkaShipper.start(link, src.identity, src.buffer)) {
            KafkaReplayer north = KafkaReplayer.start(link, "north", site, "vol2", UndoConfig.DEFAULT);
            src.write(500);
            await("north applies some", () -> north.lastApplied("vol2") > 0);
            north.close(); // mid-stream: records keep coming
            src.write(500);
            kafka.stopBroker(1);
            src.write(500);
            KafkaReplayer again = KafkaReplayer.start(link, "north", site, "vol2", UndoConfig.DEFAULT);
            try {
                src.write(500);
                kafka.startBroker(1);
                src.write(500);
                long last = src.buffer.lastSequence();
                awaitApplied(again, "vol2", last);
                assertReplicaEquals(src.primary, site, "vol2");
                assertEachSequenceOnce(site, "vol2", last);
            } finally {
                again.close();
            }
            kafka.awaitBrokers();
        }
    }

    @Test
    void allBrokersDownTheBufferAbsorbsAndStatusShowsTheLinkDown() throws Exception {
        Path site = dir.resolve("south");
        try (SourceVolume src = new SourceVolume(dir.resolve("src3"), "vol3", SIZE, 3);
                KafkaShipper shipper = KafkaShipper.start(link, src.identity, src.buffer);
                KafkaReplayer south = KafkaReplayer.start(link, "south", site, "vol3", UndoConfig.DEFAULT)) {
            src.write(300);
            awaitApplied(south, "vol3", src.buffer.lastSequence());
            long before = src.buffer.acknowledged(KafkaShipper.CURSOR_ID);
            for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                kafka.stopBroker(id);
            }
            try {
                src.write(300);
                await("status shows the link down", () -> !shipper.status().connected()
                        && !shipper.status().lastError().isEmpty());
                src.write(300);
                assertEquals(before, src.buffer.acknowledged(KafkaShipper.CURSOR_ID), "cursor moved without Kafka");
                assertTrue(src.buffer.lastSequence() > before + 500);
            } finally {
                for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                    kafka.startBroker(id);
                }
            }
            kafka.awaitBrokers();
            long last = src.buffer.lastSequence();
            awaitApplied(south, "vol3", last);
            await("status shows the link up", () -> shipper.status().connected());
            assertEquals(last, src.buffer.acknowledged(KafkaShipper.CURSOR_ID));
            assertReplicaEquals(src.primary, site, "vol3");
            assertEachSequenceOnce(site, "vol3", last);
        }
    }

    @Test
    void aBufferThatOverflowsDuringAnOutageIsHealedByACopyOfItsChunksThroughKafka() throws Exception {
        Path site = dir.resolve("east5");
        io.tapline.log.buffer.BufferConfig small = io.tapline.log.buffer.BufferConfig.ofMaxBytes(1 << 20, 4 << 20);
        io.tapline.journey.resync.ResyncConfig copying = new io.tapline.journey.resync.ResyncConfig(1 << 20, 4096, 0,
                Duration.ofSeconds(30), Duration.ofMillis(50), true);
        try (SourceVolume src = new SourceVolume(dir.resolve("src5"), "vol5", SIZE, 5, small);
                KafkaShipper shipper = KafkaShipper.start(link, src.identity, src.buffer);
                KafkaReplayer east = KafkaReplayer.start(link, "east5", site, "vol5", UndoConfig.DEFAULT);
                io.tapline.journey.resync.ResyncEngine engine = io.tapline.journey.resync.ResyncEngine.start("vol5",
                        src.buffer, List.of(), src.asResyncSource(), copying)) {
            src.write(50);
            awaitApplied(east, "vol5", src.buffer.lastSequence());
            for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                kafka.stopBroker(id);
            }
            try {
                src.write(400); // ~13 MiB into a 4 MiB buffer: FULL, the rest tracked as changed chunks
                assertTrue(src.buffer.status().lostWrites() > 0, "the buffer overflowed: " + src.buffer.status());
            } finally {
                for (int id = 0; id < KafkaCluster.BROKERS; id++) {
                    kafka.startBroker(id);
                }
            }
            kafka.awaitBrokers();
            await("a copy epoch completed and the tracked chunks are gone", () -> engine.status().epochsCompleted() >= 1
                    && src.buffer.changedChunks().isEmpty());
            src.write(20); // the host goes on writing after the copy
            long last = src.buffer.lastSequence();
            awaitApplied(east, "vol5", last);
            assertReplicaEquals(src.primary, site, "vol5");
            io.tapline.replay.VolumeStatus v = east.status().get(0).volume();
            assertFalse(v.outOfSync(), "the copy healed the site: " + v);
            assertEquals(last, v.consistentSequence(), "consistent at the last record: " + v);
            assertTrue(src.buffer.status().synced(), "the source's half says synced: " + src.buffer.status());
        }
    }

    @Test
    void aSiteThatLostRecordsToRetentionWaitsOutOfSyncAndAFullCopyHealsIt() throws Exception {
        Path site = dir.resolve("west6");
        io.tapline.journey.resync.ResyncConfig copying = new io.tapline.journey.resync.ResyncConfig(1 << 20, 4096, 0,
                Duration.ofSeconds(30), Duration.ofMillis(50), true);
        try (SourceVolume src = new SourceVolume(dir.resolve("src6"), "vol6", SIZE, 6);
                KafkaShipper shipper = KafkaShipper.start(link, src.identity, src.buffer);
                io.tapline.journey.resync.ResyncEngine engine = io.tapline.journey.resync.ResyncEngine.start("vol6",
                        src.buffer, List.of(), src.asResyncSource(), copying)) {
            src.write(50);
            try (KafkaReplayer west = KafkaReplayer.start(link, "west6", site, "vol6", UndoConfig.DEFAULT)) {
                awaitApplied(west, "vol6", src.buffer.lastSequence());
            }
            long applied = src.buffer.lastSequence();
            src.write(200); // the site is away
            await("acknowledged", () -> src.buffer.acknowledged(KafkaShipper.CURSOR_ID) == src.buffer.lastSequence());
            org.apache.kafka.common.TopicPartition tp = new org.apache.kafka.common.TopicPartition("it.vol6", 0);
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                    java.util.Map.of("bootstrap.servers", kafka.bootstrap()))) {
                long end = admin.listOffsets(java.util.Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                        .partitionResult(tp).get().offset();
                admin.deleteRecords(java.util.Map.of(tp, org.apache.kafka.clients.admin.RecordsToDelete.beforeOffset(
                        end - 100))).all().get(); // retention: the site's next 100 records are gone
            }
            try (KafkaReplayer west = KafkaReplayer.start(link, "west6", site, "vol6", UndoConfig.DEFAULT)
                    .maxSkippedAheadBytes(64 << 10)) {
                await("the site marks itself out of sync at the hole", () -> !west.status().isEmpty()
                        && west.status().get(0).volume() != null && west.status().get(0).volume().outOfSync());
                io.tapline.replay.VolumeStatus v = west.status().get(0).volume();
                assertEquals(applied, v.consistentSequence(), "consistent where it stopped: " + v);
                assertTrue(west.status().get(0).error().isEmpty(), "it waits, it does not stop");
                engine.request(true, "operator: a site lost records to retention");
                await("the full copy reached the site", () -> west.lastApplied("vol6") >= src.buffer.lastSequence()
                        && engine.status().epochsCompleted() >= 1);
                src.write(10);
                awaitApplied(west, "vol6", src.buffer.lastSequence());
                v = west.status().get(0).volume();
                assertFalse(v.outOfSync(), "the full copy healed it: " + v);
                assertReplicaEquals(src.primary, site, "vol6");
            }
        }
    }

    @Test
    void aNewBufferIsRefusedOnATopicAnotherBufferWroteAndNothingOfItReachesTheTopic() throws Exception {
        // Probe D7: a wedge restarted on a new, empty buffer (same --kafka, prefix and volume) shipped
        // seq 1.. again to the topic; every site skipped those records as applied and silently diverged.
        Path site = dir.resolve("east7");
        try (KafkaReplayer east = KafkaReplayer.start(link, "east7", site, "vol7", UndoConfig.DEFAULT)) {
            long bufferA;
            try (SourceVolume a = new SourceVolume(dir.resolve("src7a"), "vol7", SIZE, 7);
                    KafkaShipper shipper = KafkaShipper.start(link, a.identity, a.buffer)) {
                bufferA = a.buffer.bufferId();
                a.write(100);
                awaitApplied(east, "vol7", 100);
            }
            try (SourceVolume b = new SourceVolume(dir.resolve("src7b"), "vol7", SIZE, 77)) {
                b.write(30); // seq 1..30 of another history (a seeding copy, say)
                try (KafkaShipper shipper = KafkaShipper.start(link, b.identity, b.buffer)) {
                    await("the link refused, with its reason", () -> !shipper.status().connected()
                            && shipper.status().lastError().startsWith("kafka topic it.vol7 holds another capture"
                                    + " buffer's records (offset 99, seq 100, buffer " + Long.toHexString(bufferA)));
                    b.write(5);
                    assertFalse(shipper.status().connected(), shipper.status().toString());
                }
                assertEquals(0, b.buffer.acknowledged(KafkaShipper.CURSOR_ID), "nothing of B was shipped");
                assertEquals(1, b.buffer.firstSequence(), "the buffer keeps B's records");
                assertEquals(35, b.buffer.lastSequence());
                org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> last =
                        KafkaLogReader.lastRecord(link, "vol7", Duration.ofSeconds(10));
                assertEquals(99, last.offset(), "the topic ends where A left it");
                assertEquals(bufferA, KafkaRecordFormat.bufferId(last));

                // Had they reached the topic anyway (two wedges racing on an empty topic, an older
                // shipper), the site refuses them instead of skipping them as applied.
                try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> p =
                        new org.apache.kafka.clients.producer.KafkaProducer<>(link.producerProperties("it-b"));
                        io.tapline.log.buffer.RecordReader reader = b.buffer.openReader(1)) {
                    p.send(KafkaRecordFormat.toKafka("it.vol7", reader.next(0), b.identity, b.buffer.bufferId())).get();
                }
                await("the site stopped at B's record", () -> !east.status().isEmpty()
                        && east.status().get(0).error().contains("record of capture buffer "
                                + Long.toHexString(b.buffer.bufferId())));
                assertEquals(100, east.lastApplied("vol7"));
            }
        }
    }

    @Test
    void auditorsReadTheLogFromKafkaByCaptureTimeEachSequenceOnce() throws Exception {
        try (SourceVolume src = new SourceVolume(dir.resolve("src4"), "vol4", SIZE, 4);
                KafkaShipper shipper = KafkaShipper.start(link, src.identity, src.buffer)) {
            src.write(100);
            await("first burst acknowledged", () -> src.buffer.acknowledged(KafkaShipper.CURSOR_ID) == 100);
            // Not a wait for a condition: a gap on the clock, so no record of either burst carries
            // the boundary's millisecond and the time-range query has an exact answer.
            Thread.sleep(20);
            java.time.Instant between = java.time.Instant.now();
            Thread.sleep(20);
            src.write(50);
            await("second burst acknowledged", () -> src.buffer.acknowledged(KafkaShipper.CURSOR_ID) == 150);
            List<KafkaLogReader.Entry> all = KafkaLogReader.read(link, "vol4", null, null).entries();
            assertEquals(150, all.size());
            for (int i = 0; i < all.size(); i++) {
                assertEquals(i + 1, all.get(i).record().sequence());
            }
            List<KafkaLogReader.Entry> later = KafkaLogReader.read(link, "vol4", between, null).entries();
            assertEquals(50, later.size());
            assertEquals(101, later.get(0).record().sequence());
            List<KafkaLogReader.Entry> earlier = KafkaLogReader.read(link, "vol4", null, between).entries();
            assertEquals(100, earlier.size());
        }
    }

    private static void assertReplicaEquals(byte[] primary, Path site, String volume) throws Exception {
        byte[] replica = Files.readAllBytes(site.resolve(volume).resolve("replica.img"));
        assertEquals(primary.length, replica.length);
        assertArrayEquals(primary, replica, "replica of " + volume + " at " + site.getFileName());
    }

    private static void assertEachSequenceOnce(Path site, String volume, long last) throws Exception {
        Set<Long> seen = new HashSet<>();
        for (AuditEntry e : AuditLog.read(site.resolve(volume))) {
            assertFalse(e.type() == AuditType.RECOVERY, "no recovery expected: " + e);
            if (e.type() == AuditType.RECORD) {
                assertTrue(seen.add(e.sequence()), "sequence applied twice: " + e.sequence());
            }
        }
        assertEquals(last, seen.size(), "every sequence 1.." + last + " audited once");
    }

    private static void awaitApplied(KafkaReplayer r, String volume, long last) throws InterruptedException {
        await(volume + " applied up to " + last, () -> r.lastApplied(volume) >= last);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(50);
        }
    }
}
