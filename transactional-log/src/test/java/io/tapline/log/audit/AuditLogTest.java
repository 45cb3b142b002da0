package io.tapline.log.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
    private static final int ENTRY = AuditLog.FIXED + 1 + 3 + 32;

    @TempDir
    Path vol;
    private Path log;
    private byte[] original;

    @BeforeEach
    void tenEntries() throws IOException {
        try (AuditLog a = AuditLog.open(vol)) {
            for (int i = 1; i <= 10; i++) {
                a.append(AuditType.RECORD, i, i * 1000L, i * 4096L, 4096, 1, 1, a.digest(new byte[] {(byte) i}), "w",
                        String.format("d%02d", i));
            }
            a.sync();
        }
        log = vol.resolve("audit/audit.log");
        original = Files.readAllBytes(log);
        assertEquals(10 * ENTRY, original.length);
    }

    private String problem() throws IOException {
        AuditVerifier.Result r = AuditVerifier.verify(vol);
        assertFalse(r.intact(), "expected a broken chain");
        return r.problem();
    }

    @Test
    void untouchedLogVerifies() throws IOException {
        AuditVerifier.Result r = AuditVerifier.verify(vol);
        assertTrue(r.intact(), r.problem());
        assertEquals(10, r.entries());
        assertEquals(10, AuditLog.read(vol).size());
        assertEquals(10, AuditLog.read(vol).get(9).sequence());
    }

    @Test
    void flippedByteNamesTheEntry() throws IOException {
        byte[] b = original.clone();
        b[3 * ENTRY + 40] ^= 1;
        Files.write(log, b);
        assertTrue(problem().startsWith("entry 4 altered"), problem());
    }

    @Test
    void flippedByteWithRecomputedCrcIsCaughtByTheHash() throws IOException {
        byte[] b = original.clone();
        int at = 3 * ENTRY;
        b[at + 40] ^= 1;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, at + 8, ENTRY - 8);
        java.nio.ByteBuffer.wrap(b).putInt(at + 4, (int) crc.getValue());
        Files.write(log, b);
        assertTrue(problem().startsWith("entry 4 altered or inserted: hash does not chain"), problem());
    }

    @Test
    void deletedEntryIsNamed() throws IOException {
        byte[] b = new byte[original.length - ENTRY];
        System.arraycopy(original, 0, b, 0, 3 * ENTRY);
        System.arraycopy(original, 4 * ENTRY, b, 3 * ENTRY, 6 * ENTRY);
        Files.write(log, b);
        assertTrue(problem().startsWith("entry 4 removed or reordered: entry 5 found"), problem());
    }

    @Test
    void swappedEntriesAreNamed() throws IOException {
        byte[] b = original.clone();
        System.arraycopy(original, 4 * ENTRY, b, 3 * ENTRY, ENTRY);
        System.arraycopy(original, 3 * ENTRY, b, 4 * ENTRY, ENTRY);
        Files.write(log, b);
        assertTrue(problem().startsWith("entry 4 removed or reordered: entry 5 found"), problem());
    }

    @Test
    void truncatedTailAtAnEntryBoundaryIsCaughtByTheHead() throws IOException {
        Files.write(log, Arrays.copyOf(original, 8 * ENTRY));
        assertTrue(problem().startsWith("truncated: the log ends after entry 8, the head records 10"), problem());
    }

    @Test
    void truncatedInsideAnEntryIsNamed() throws IOException {
        Files.write(log, Arrays.copyOf(original, 9 * ENTRY + 50));
        assertTrue(problem().startsWith("truncated tail: entry 10 is incomplete"), problem());
    }

    @Test
    void writerRefusesABrokenChainButTrimsATornAppend() throws IOException {
        byte[] b = original.clone();
        b[2 * ENTRY + 40] ^= 1;
        Files.write(log, b);
        assertThrows(AuditException.class, () -> AuditLog.open(vol));
        // A torn append beyond what the head counts is a crash, not tampering: it is cut off.
        byte[] torn = Arrays.copyOf(original, original.length + 60);
        System.arraycopy(original, 0, torn, original.length, 60);
        Files.write(log, torn);
        try (AuditLog a = AuditLog.open(vol)) {
            a.append(AuditType.MARK, 11, 0, 0, 0, 5, 0, null, "w", "d11");
            a.sync();
        }
        assertTrue(AuditVerifier.verify(vol).intact());
        assertEquals(11, AuditVerifier.verify(vol).entries());
    }
    /** Appends {@code n} entries after the ten of {@link #tenEntries} without syncing: the head still counts ten. */
    private byte[] appendUnsynced(int n) throws IOException {
        try (AuditLog a = AuditLog.open(vol)) {
            for (int i = 11; i <= 10 + n; i++) {
                a.append(AuditType.RECORD, i, 0, 0, 0, 1, 1, null, "w", String.format("d%02d", i));
            }
        }
        return Files.readAllBytes(log);
    }

    @Test
    void missingHeadFailsVerifyEvenWhenTheLogEndsAtAnEntryBoundary() throws IOException {
        Files.delete(vol.resolve("audit/audit.head"));
        assertTrue(problem().startsWith("head: " + vol.resolve("audit/audit.head") + " is missing (expected:"),
                problem());
        Files.write(log, Arrays.copyOf(original, 8 * ENTRY));
        assertTrue(problem().startsWith("head: "), problem());
        assertThrows(AuditException.class, () -> AuditLog.open(vol));
    }

    @Test
    void headWithBothSlotsInvalidFailsVerify() throws IOException {
        Path head = vol.resolve("audit/audit.head");
        byte[] h = Files.readAllBytes(head);
        h[20] ^= 1;
        h[AuditLog.SLOT + 20] ^= 1;
        Files.write(head, h);
        assertTrue(problem().contains("has no valid slot"), problem());
        assertThrows(AuditException.class, () -> AuditLog.open(vol));
    }

    @Test
    void entriesAfterTheHeadsCountAreReportedUnconfirmedAndTheNextSyncConfirmsThem() throws IOException {
        appendUnsynced(2);
        AuditVerifier.Result r = AuditVerifier.verify(vol);
        assertTrue(r.intact(), r.problem());
        assertEquals(12, r.entries());
        assertEquals(10, r.headEntries());
        assertEquals(2, r.unconfirmedEntries());
        try (AuditLog a = AuditLog.open(vol)) {
            assertEquals(0, a.trimmedBytes());
            a.sync();
        }
        assertEquals(0, AuditVerifier.verify(vol).unconfirmedEntries());
        assertEquals(12, AuditVerifier.verify(vol).entries());
    }

    @Test
    void aNewLogHasAHeadBeforeItsFirstEntrySoACrashBeforeTheFirstSyncReopens() throws IOException {
        Path other = vol.resolve("other");
        try (AuditLog a = AuditLog.open(other)) {
            a.append(AuditType.RECORD, 1, 0, 0, 0, 1, 1, null, "w", "d");
        } // no sync: a crash
        AuditVerifier.Result r = AuditVerifier.verify(other);
        assertTrue(r.intact(), r.problem());
        assertEquals(1, r.unconfirmedEntries());
        try (AuditLog a = AuditLog.open(other)) {
            a.sync();
        }
        assertEquals(0, AuditVerifier.verify(other).unconfirmedEntries());
    }

    @Test
    void zeroBlocksAfterTheLastEntryAreTrimmedAndReported() throws IOException {
        for (int zeroes : new int[] {512, 4096}) {
            Files.write(log, Arrays.copyOf(original, original.length + zeroes));
            AuditVerifier.Result r = AuditVerifier.verify(vol);
            assertTrue(r.tornTail(), r.problem());
            assertTrue(r.problem().startsWith("torn tail: entry 11 is incomplete, damaged or zero-filled at offset "
                    + original.length), r.problem());
            try (AuditLog a = AuditLog.open(vol)) {
                assertEquals(zeroes, a.trimmedBytes());
            }
            assertEquals(original.length, Files.size(log));
            assertTrue(AuditVerifier.verify(vol).intact());
        }
    }

    @Test
    void unconfirmedEntriesZeroedFromEveryOffsetAreTrimmedToTheLastWholeOne() throws IOException {
        byte[] twelve = appendUnsynced(2);
        for (int cut = original.length; cut <= twelve.length; cut++) {
            byte[] torn = Arrays.copyOf(twelve, twelve.length + 4096);
            Arrays.fill(torn, cut, torn.length, (byte) 0);
            Files.write(log, torn);
            int whole = (cut - original.length) / ENTRY;
            int entryEnd = original.length + (whole + 1) * ENTRY;
            if (entryEnd <= twelve.length
                    && Arrays.equals(twelve, cut, entryEnd, new byte[entryEnd - cut], 0, entryEnd - cut)) {
                whole++; // the entry's last bytes (of its hash) were zeros already: zeroing them changed nothing
            }
            int kept = original.length + whole * ENTRY;
            try (AuditLog a = AuditLog.open(vol)) {
                assertEquals(torn.length - kept, a.trimmedBytes(), "zeroed from " + cut);
            }
            assertEquals(kept, Files.size(log), "zeroed from " + cut);
            AuditVerifier.Result r = AuditVerifier.verify(vol);
            assertTrue(r.intact(), r.problem());
            assertEquals(10 + whole, r.entries(), "zeroed from " + cut);
        }
    }

    @Test
    void zeroedEntriesTheHeadCountsAreRefusedNotTrimmed() throws IOException {
        byte[] b = Arrays.copyOf(original, original.length + 4096);
        Arrays.fill(b, 9 * ENTRY, b.length, (byte) 0);
        Files.write(log, b);
        assertTrue(problem().startsWith("entry 10 altered: entryLength 0"), problem());
        assertThrows(AuditException.class, () -> AuditLog.open(vol));
        assertEquals(b.length, Files.size(log), "nothing was dropped");
    }

    @Test
    void zeroedUnconfirmedEntryWithAValidOneAfterIsAPowerCutAndTrimmed() throws IOException {
        // Unsynced appends written back out of order: the sector holding entry 11 never reached
        // the disk, later ones did. No sync covered any (the head counts 10): a torn tail.
        byte[] more = appendUnsynced(12);
        byte[] b = more.clone();
        int sectorEnd = (original.length / 512 + 1) * 512;
        Arrays.fill(b, original.length, sectorEnd, (byte) 0);
        Files.write(log, b);
        assertTrue(AuditVerifier.verify(vol).tornTail(), problem());
        try (AuditLog a = AuditLog.open(vol)) {
            assertEquals(more.length - original.length, a.trimmedBytes());
        }
        assertEquals(original.length, Files.size(log));
        assertTrue(AuditVerifier.verify(vol).intact());
    }

    @Test
    void alteredUnconfirmedEntryWithAValidOneAfterIsRefused() throws IOException {
        // Flipped bits are not what a power cut leaves (no unwritten sector): refused, nothing dropped.
        byte[] twelve = appendUnsynced(2);
        byte[] b = twelve.clone();
        b[original.length + 40] ^= 0x5A;
        Files.write(log, b);
        assertTrue(problem().startsWith("entry 11 altered: crc32c mismatch"), problem());
        assertThrows(AuditException.class, () -> AuditLog.open(vol));
        assertEquals(b.length, Files.size(log), "nothing was dropped");
    }

    @Test
    void aFailedAppendOrSyncNamesTheLogsFolder() throws IOException {
        AuditLog a = AuditLog.open(vol);
        a.close(); // a closed channel fails as a full disk would: with an error that names no file
        IOException append = assertThrows(IOException.class,
                () -> a.append(AuditType.RECORD, 11, 0, 0, 4096, 1, 1, null, "w", "d"));
        assertTrue(append.getMessage().startsWith("audit log " + vol.resolve("audit") + ": "), append.getMessage());
        IOException sync = assertThrows(IOException.class, a::sync);
        assertTrue(sync.getMessage().startsWith("audit log " + vol.resolve("audit") + ": "), sync.getMessage());
    }
}
