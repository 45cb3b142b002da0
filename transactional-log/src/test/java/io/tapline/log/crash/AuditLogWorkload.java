package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.audit.AuditVerifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hash-chained audit log: entries of varied sizes (who and detail strings), synced in
 * groups as the apply path does (entries, then the two-slot head, then now and then the two-slot
 * checkpoint: one every ~4 KB of log here), over three sessions.
 * Oracle: verification passes (a torn tail is reported, never a broken chain); the log opens for
 * appending, from its checkpoint when one matches, with the last record sequence a whole check
 * finds; every entry synced before the cut is there; every entry read back is the one appended at
 * its index, in order (nothing invented, nothing reordered).
 */
final class AuditLogWorkload implements CrashWorkload {
    private static final long CHECKPOINT_EVERY_BYTES = 4096;
    private final int sessions;
    private final int entriesPerSession;
    private final List<String> details = new ArrayList<>();
    private final Ledger<Integer> synced = new Ledger<>(0);

    AuditLogWorkload(int sessions, int entriesPerSession) {
        this.sessions = sessions;
        this.entriesPerSession = entriesPerSession;
    }

    @Override
    public String kind() {
        return "audit log";
    }

    private static String detail(int i) {
        return "entry " + i + " " + "x".repeat((i * 173) % 700);
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path volumeDir = root.resolve("vol1");
        for (int s = 0; s < sessions; s++) {
            try (AuditLog audit = AuditLog.open(volumeDir, CHECKPOINT_EVERY_BYTES)) {
                for (int i = 0; i < entriesPerSession; i++) {
                    int index = details.size();
                    String d = detail(index);
                    details.add(d);
                    audit.append(AuditType.RECORD, index + 1, index * 10L, index * 4096L, 4096, 1, 0,
                            audit.digest(d.getBytes()), "crash-test", d);
                    if (i % 4 == 3) {
                        audit.sync();
                        synced.note(trace.size(), details.size());
                    }
                }
                audit.sync();
                synced.note(trace.size(), details.size());
            }
        }
    }

    @Override
    public String expectationAt(int opsDone) {
        return String.valueOf(synced.at(opsDone));
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        Path volumeDir = dir.resolve("vol1");
        int mustHave = synced.at(opsDone);
        AuditVerifier.Result r = AuditVerifier.verify(volumeDir);
        assertTrue(r.intact() || r.tornTail(), "verify: " + r.problem());
        assertTrue(r.entries() >= mustHave, "verified entries " + r.entries() + " < synced " + mustHave);
        try (AuditLog audit = AuditLog.open(volumeDir, CHECKPOINT_EVERY_BYTES)) {
            assertEquals(r.lastRecordSequence(), audit.lastRecordSequence(), "last record sequence at the open");
            audit.sync();
        }
        AuditVerifier.Result after = AuditVerifier.verify(volumeDir);
        assertTrue(after.intact(), "verify after the reopen: " + after.problem());
        List<AuditEntry> entries = AuditLog.read(volumeDir);
        assertTrue(entries.size() >= mustHave, "entries " + entries.size() + " < synced " + mustHave);
        for (int i = 0; i < entries.size(); i++) {
            AuditEntry e = entries.get(i);
            assertEquals(details.get(i), e.detail(), "entry " + i);
        }
    }
}
