package io.tapline.tools;

import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditVerifier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A volume's audit log read for a report ({@code audit list/export}, {@code heat}): its entries,
 * and, when the log is damaged, a warning on stderr saying that only the entries before the damage
 * count; the command then exits 1.
 *
 * @param entries the entries before the first bad one
 * @param damaged whether the log is damaged (a torn tail past the head's count is a writer's append
 *                in flight, not damage)
 */
record AuditReading(List<AuditEntry> entries, boolean damaged) {

    /** Reads {@code dir}'s audit log; {@code what} names what counts only the entries read ("are listed"). */
    static AuditReading of(Path dir, String volume, String what) throws IOException {
        List<AuditEntry> entries = new ArrayList<>();
        AuditVerifier.Result read = AuditLog.read(dir, entries);
        boolean damaged = !read.intact() && (!read.tornTail() || read.entries() < read.headEntries());
        if (damaged) {
            System.err.println("tapline: warning: the audit log of volume " + volume + " is not intact ("
                    + read.problem() + "): " + what.replace("N", Integer.toString(entries.size()))
                    + "; see `tapline audit verify`");
        }
        return new AuditReading(entries, damaged);
    }
}
