package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppliedStateTest {
    @TempDir
    Path dir;

    @Test
    void newStateStartsAtZeroAndPersistsAcrossReopen() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(0, s.lastApplied());
            s.persist(5, false, 0);
            s.persist(9, true, 7);
        }
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(9, s.lastApplied());
            assertTrue(s.outOfSync());
            assertEquals(7, s.firstGapSequence());
        }
        assertEquals(2 * AppliedState.SLOT_BYTES, Files.size(dir.resolve(AppliedState.FILE)));
    }

    @Test
    void tornNewestSlotFallsBackToThePreviousState() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(5, false, 0); // generation 1, slot 1
            s.persist(6, false, 0); // generation 2, slot 0
        }
        flipByte(0 + 17); // inside slot 0's lastApplied
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(5, s.lastApplied());
            s.persist(6, false, 0); // generation 2 again, rewrites slot 0
        }
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(6, s.lastApplied());
        }
    }

    @Test
    void theLastRecordsCrcPersistsAndBecomesUnknownWhenTheSequenceMovesWithoutIt() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(-1, s.lastRecordCrc());
            s.persist(7, SyncState.consistentAt(7), 0xCAFEF00DL);
        }
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(0xCAFEF00DL, s.lastRecordCrc(), "v3 keeps the CRC across a reopen");
            s.persist(7, SyncState.consistentAt(7).differenceFound(7)); // same sequence: kept
            assertEquals(0xCAFEF00DL, s.lastRecordCrc());
            s.persist(3, SyncState.consistentAt(3)); // a rollback: unknown
            assertEquals(-1, s.lastRecordCrc());
        }
    }

    @Test
    void aVersion2SlotIsReadWithAnUnknownCrc() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(9, SyncState.consistentAt(9), 0x1234L);
        }
        rewriteBothSlotsAs(2, 48); // version 2: the CRC-32C over bytes [0, 48) at 48
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(9, s.lastApplied());
            assertEquals(-1, s.lastRecordCrc());
        }
    }

    @Test
    void aVersion3SlotKnowsOnlyItsLastConsistentPointAndNoFloor() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(9, new SyncState(false, false, false, false, 0, 9, 0, 2, 5, ConsistentRuns.NONE.with(0, 1)),
                    0x1234L);
        }
        rewriteBothSlotsAs(3, 56); // version 3: the CRC-32C over bytes [0, 56) at 56, nothing after
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(0x1234L, s.lastRecordCrc());
            assertEquals(9, s.sync().consistentSince(), "the run's start was not kept: only seq 9 is known");
            assertEquals(0, s.sync().exactFrom());
            assertEquals(ConsistentRuns.NONE, s.sync().earlierRuns());
        }
    }

    @Test
    void theFirstWriteAfterAnOlderVersionLeavesNoSlotOfThatVersion() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(9, SyncState.consistentAt(9), 0x1234L);
        }
        rewriteBothSlotsAs(3, 56);
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(5, SyncState.consistentAt(5)); // a rollback by this build
        }
        byte[] bytes = Files.readAllBytes(dir.resolve(AppliedState.FILE));
        for (int slot = 0; slot < 2; slot++) {
            int version = java.nio.ByteBuffer.wrap(bytes, slot * 512, 512).slice().getShort(4) & 0xFFFF;
            assertEquals(AppliedState.VERSION, version, "slot " + slot + ": an older build would read its stale seq 9");
        }
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(5, s.lastApplied());
        }
    }

    @Test
    void theConsistentRunAndTheFloorPersist() throws IOException {
        ConsistentRuns runs = ConsistentRuns.NONE;
        for (int i = 0; i < ConsistentRuns.MAX + 3; i++) {
            runs = runs.with(i * 10L, i * 10L + 5);
        }
        SyncState st = new SyncState(true, false, false, false, 300, 295, 0, 290, 18, runs);
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(31, st);
        }
        try (AppliedState s = AppliedState.open(dir)) {
            assertEquals(st, s.sync());
        }
    }

    @Test
    void bothSlotsDamagedIsRefusedNamingTheFile() throws IOException {
        try (AppliedState s = AppliedState.open(dir)) {
            s.persist(5, false, 0);
        }
        flipByte(3);
        flipByte(AppliedState.SLOT_BYTES + 20);
        IOException e = assertThrows(IOException.class, () -> AppliedState.open(dir));
        assertTrue(e.getMessage().startsWith("corrupt applied state " + dir.resolve(AppliedState.FILE)),
                e.getMessage());
        assertTrue(e.getMessage().contains("slot 0 magic: "), e.getMessage());
        assertTrue(e.getMessage().contains("slot 1 crc32c: "), e.getMessage());
    }

    @Test
    void volumeMetaRoundTripsAndDetectsDamage() throws IOException {
        new VolumeMeta(1 << 30, 4096, "wedge-ü").write(dir);
        assertEquals(new VolumeMeta(1 << 30, 4096, "wedge-ü"), VolumeMeta.read(dir));
        byte[] bytes = Files.readAllBytes(dir.resolve(VolumeMeta.FILE));
        bytes[10] ^= 1;
        Files.write(dir.resolve(VolumeMeta.FILE), bytes);
        IOException e = assertThrows(IOException.class, () -> VolumeMeta.read(dir));
        assertTrue(e.getMessage().contains("crc32c: "), e.getMessage());
        assertFalse(Files.exists(dir.resolve(VolumeMeta.FILE + ".tmp")));
    }

    /** Rewrites both slots as an older version wrote them: its number, its CRC at {@code crcAt}, zeros after. */
    private void rewriteBothSlotsAs(int version, int crcAt) throws IOException {
        java.nio.file.Path file = dir.resolve(AppliedState.FILE);
        byte[] bytes = Files.readAllBytes(file);
        for (int slot = 0; slot < 2; slot++) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes, slot * 512, 512).slice();
            b.putShort(4, (short) version);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes, slot * 512, crcAt);
            b.putInt(crcAt, (int) crc.getValue());
            for (int i = crcAt + 4; i < 512; i++) {
                b.put(i, (byte) 0);
            }
        }
        Files.write(file, bytes);
    }

    private void flipByte(long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(AppliedState.FILE).toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x10);
        }
    }
}
