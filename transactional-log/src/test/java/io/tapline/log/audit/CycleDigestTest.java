package io.tapline.log.audit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A cycle's digest in the RESYNC_END is checked against the WRITEs the replica's audit log holds. */
class CycleDigestTest {
    @TempDir
    Path dir;

    private static final byte[] A = new byte[] {1, 2, 3};
    private static final byte[] B = new byte[] {4, 5};

    @Test
    void aCycleWhoseWritesMatchVerifies() throws IOException {
        write(dir, sourceDigest(), false);
        AuditVerifier.Result r = AuditVerifier.verify(dir);
        assertTrue(r.intact(), r.problem());
    }

    @Test
    void aWriteLoggedAgainAfterARecoveryCountsOnce() throws IOException {
        write(dir, sourceDigest(), true);
        AuditVerifier.Result r = AuditVerifier.verify(dir);
        assertTrue(r.intact(), r.problem());
    }

    @Test
    void aCycleWithAnotherWriteIsNamed() throws IOException {
        CycleDigest other = new CycleDigest();
        other.addWrite(0, A);
        other.addWrite(8192, A); // the source sent A where the replica logged B
        write(dir, other.text(), false);
        AuditVerifier.Result r = AuditVerifier.verify(dir);
        assertFalse(r.intact());
        assertTrue(r.problem().contains("RESYNC_END seq 4") && r.problem().contains("do not match"), r.problem());
    }

    private static String sourceDigest() {
        CycleDigest d = new CycleDigest();
        d.addWrite(0, A);
        d.addWrite(8192, B);
        return d.text();
    }

    /** BEGIN 1, WRITE 2 (A at 0), WRITE 3 (B at 8192), END 4 claiming {@code digestText}; optionally a recovery to 2 and WRITE 3 again. */
    private static void write(Path dir, String digestText, boolean recovery) throws IOException {
        try (AuditLog log = AuditLog.open(dir)) {
            log.append(AuditType.RECORD, 1, 0, 0, 0, RecordKind.RESYNC_BEGIN.wireValue(), 0, null, "source",
                    "resync 1 chunks: cycle 1");
            log.append(AuditType.RECORD, 2, 0, 0, A.length, RecordKind.WRITE.wireValue(), 0, log.digest(A), "source", "");
            log.append(AuditType.RECORD, 3, 0, 8192, B.length, RecordKind.WRITE.wireValue(), 0, log.digest(B), "source",
                    "");
            if (recovery) {
                log.append(AuditType.RECOVERY, 3, 2, 0, 0, 0, 0, null, "replayer", "undo after a crash");
                log.append(AuditType.RECORD, 3, 0, 8192, B.length, RecordKind.WRITE.wireValue(), 0, log.digest(B),
                        "source", "");
            }
            log.append(AuditType.RECORD, 4, 0, 0, 0, RecordKind.RESYNC_END.wireValue(), 0, null, "source",
                    "resync 1 chunks: compared 2 chunks, sent 5 bytes" + digestText);
            log.sync();
        }
    }
}
