package io.tapline.log.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replayer's open checks the audit chain from its checkpoint, not from entry 1; what it
 * concludes is what a whole check concludes about the entries after it, and {@code audit verify}
 * still reads everything.
 */
class AuditCheckpointTest {
    /** A checkpoint after about every 20 of this test's entries (~140 bytes each). */
    private static final long EVERY = 2800;

    @TempDir
    Path vol;

    private Path log() {
        return vol.resolve("audit/audit.log");
    }

    /** Appends WRITE entries {@code from..to} (sequence = index), synced every 4 as the apply path's groups are. */
    private void appendWrites(long from, long to) throws IOException {
        try (AuditLog a = AuditLog.open(vol, EVERY)) {
            for (long i = from; i <= to; i++) {
                a.append(AuditType.RECORD, i, i * 1000, i * 4096, 4096, RecordKind.WRITE.wireValue(), 1,
                        a.digest(new byte[] {(byte) i}), "nbd a -> b tag=0x" + Long.toHexString(i), "");
                if (i % 4 == 0) {
                    a.sync();
                }
            }
            a.sync();
        }
    }

    @Test
    void anOpenChecksOnlyTheEntriesAfterTheCheckpointAndAgreesWithTheWholeCheck() throws IOException {
        appendWrites(1, 200);
        AuditCheckpoint c = AuditCheckpoint.read(vol.resolve("audit"));
        assertNotNull(c, "no checkpoint after 200 entries, ~28 KB");
        assertTrue(c.entries() > 150 && c.entries() <= 200, "checkpoint at entry " + c.entries());

        AuditVerifier.Result whole = AuditVerifier.verify(vol);
        AuditVerifier.Result after = AuditVerifier.verifyAfter(vol, c);
        assertTrue(whole.intact() && after.intact(), whole.problem() + after.problem());
        assertEquals(0, whole.checkedFrom());
        assertEquals(c.entries(), after.checkedFrom());
        assertEquals(whole.entries(), after.entries());
        assertEquals(whole.validBytes(), after.validBytes());
        assertArrayEquals(whole.lastHash(), after.lastHash());
        assertEquals(whole.lastRecordSequence(), after.lastRecordSequence());
        assertEquals(whole.lastEntryStart(), after.lastEntryStart());

        appendWrites(201, 260); // opened from the checkpoint, chained on from where it stopped
        AuditVerifier.Result later = AuditVerifier.verify(vol);
        assertTrue(later.intact(), later.problem());
        assertEquals(260, later.entries());
        assertEquals(260, later.lastRecordSequence());
    }

    @Test
    void anEntryAlteredAfterTheCheckpointIsRefusedAtOpen() throws IOException {
        appendWrites(1, 200);
        AuditCheckpoint c = AuditCheckpoint.read(vol.resolve("audit"));
        appendWrites(201, 205); // fewer bytes than a checkpoint's distance: the checkpoint stays at c
        assertEquals(c.generation(), AuditCheckpoint.read(vol.resolve("audit")).generation());
        byte[] b = Files.readAllBytes(log());
        b[(int) c.endOffset() + 40] ^= 1; // the first entry after the checkpoint
        Files.write(log(), b);
        AuditException e = assertThrows(AuditException.class, () -> AuditLog.open(vol));
        assertTrue(e.getMessage().contains("entry " + (c.entries() + 1) + " altered"), e.getMessage());
    }

    @Test
    void anEntryAlteredBeforeTheCheckpointIsFoundByAuditVerifyNotAtOpen() throws IOException {
        appendWrites(1, 200);
        byte[] b = Files.readAllBytes(log());
        b[40] ^= 1; // entry 1
        Files.write(log(), b);
        try (AuditLog a = AuditLog.open(vol)) {
            assertEquals(200, a.lastRecordSequence()); // the documented trade: docs/formats.md#audit-checkpoint
        }
        AuditVerifier.Result whole = AuditVerifier.verify(vol);
        assertFalse(whole.intact());
        assertTrue(whole.problem().startsWith("entry 1 altered"), whole.problem());
    }

    @Test
    void theCheckpointedEntryItselfAlteredMakesTheOpenCheckTheWholeChain() throws IOException {
        appendWrites(1, 200);
        AuditCheckpoint c = AuditCheckpoint.read(vol.resolve("audit"));
        byte[] b = Files.readAllBytes(log());
        b[(int) c.entryStart() + 40] ^= 1;
        Files.write(log(), b);
        assertNull(AuditVerifier.verifyAfter(vol, c), "a checkpoint whose entry's CRC fails does not match");
        AuditException e = assertThrows(AuditException.class, () -> AuditLog.open(vol));
        assertTrue(e.getMessage().contains("entry " + c.entries() + " altered"), e.getMessage());
    }

    @Test
    void aCheckpointOfAnotherLogIsNotTrustedAndTheWholeChainIsChecked() throws IOException {
        appendWrites(1, 200);
        Path cp = vol.resolve("audit").resolve(AuditCheckpoint.FILE);
        byte[] saved = Files.readAllBytes(cp);
        Files.delete(log());
        Files.delete(vol.resolve("audit").resolve(AuditLog.HEAD));
        appendWrites(1, 30); // a new log, shorter than the checkpoint's place
        Files.write(cp, saved);
        AuditCheckpoint stale = AuditCheckpoint.read(vol.resolve("audit"));
        assertTrue(stale.entries() > 30);
        assertNull(AuditVerifier.verifyAfter(vol, stale));
        try (AuditLog a = AuditLog.open(vol)) {
            assertEquals(30, a.lastRecordSequence());
        }
        appendWrites(31, 60); // more than a checkpoint's distance, still short of the stale checkpoint's place
        AuditCheckpoint fresh = AuditCheckpoint.read(vol.resolve("audit"));
        assertTrue(fresh.generation() > stale.generation() && fresh.entries() <= 60, "a new checkpoint: " + fresh);
        assertNotNull(AuditVerifier.verifyAfter(vol, fresh), "the new checkpoint matches the log");
    }

    @Test
    void aMissingOrDamagedCheckpointIsAWholeCheckNotAFailure() throws IOException {
        appendWrites(1, 200);
        Path cp = vol.resolve("audit").resolve(AuditCheckpoint.FILE);
        byte[] b = Files.readAllBytes(cp);
        for (int slot = 0; slot < 2; slot++) {
            b[slot * 128 + 20] ^= 1; // both slots' CRCs fail
        }
        Files.write(cp, b);
        assertNull(AuditCheckpoint.read(vol.resolve("audit")));
        appendWrites(201, 210);
        Files.delete(cp);
        appendWrites(211, 220);
        assertTrue(AuditVerifier.verify(vol).intact());
        assertEquals(220, AuditVerifier.verify(vol).entries());
    }

    @Test
    void aCycleThatBeganBeforeTheCheckpointOpensAndAuditVerifyStillChecksItsDigest() throws IOException {
        byte[] payload = {9};
        CycleDigest claimed = new CycleDigest();
        claimed.addWrite(0, new byte[] {8}); // not what the log holds
        try (AuditLog a = AuditLog.open(vol, EVERY)) {
            a.append(AuditType.RECORD, 1, 0, 0, 0, RecordKind.RESYNC_BEGIN.wireValue(), 0, null, "source",
                    "resync 1 chunks: cycle 1");
            for (long i = 2; i <= 60; i++) {
                a.append(AuditType.RECORD, i, 0, 0, 1, RecordKind.WRITE.wireValue(), 0, a.digest(payload), "source",
                        "x".repeat(40));
                a.sync();
            }
            a.append(AuditType.RECORD, 61, 0, 0, 0, RecordKind.RESYNC_END.wireValue(), 0, null, "source",
                    "resync 1 chunks: compared 59 chunks" + claimed.text());
            a.sync();
        }
        AuditCheckpoint c = AuditCheckpoint.read(vol.resolve("audit"));
        assertTrue(c != null && c.entries() > 1 && c.entries() < 61, "checkpoint inside the cycle: " + c);
        AuditVerifier.Result after = AuditVerifier.verifyAfter(vol, c);
        assertTrue(after.intact(), "the cycle's begin is before the checkpoint: " + after.problem());
        AuditVerifier.Result whole = AuditVerifier.verify(vol);
        assertFalse(whole.intact());
        assertTrue(whole.problem().contains("do not match"), whole.problem());
    }

    @Test
    void aRollbackAfterTheCheckpointLowersTheLastRecordSequenceAsInAWholeCheck() throws IOException {
        appendWrites(1, 200);
        try (AuditLog a = AuditLog.open(vol, EVERY)) {
            a.append(AuditType.ROLLBACK, 200, 150, 0, 0, 0, 0, null, "admin", "rollback to 150");
            a.sync();
        }
        try (AuditLog a = AuditLog.open(vol, EVERY)) {
            assertEquals(150, a.lastRecordSequence());
            assertEquals(150, AuditVerifier.verify(vol).lastRecordSequence());
        }
    }
}
