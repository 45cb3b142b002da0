package io.tapline.tools;

import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditVerifier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A volume's audit log read for a report ({@code audit list/export}, {@code heat}): its entries
 * handed over one at a time (a busy volume's log holds millions: none is kept here), and, when
 * the log is damaged, a warning on stderr saying that only the entries before the damage count;
 * the command then exits 1.
 *
 * @param entries how many entries were read (those before the first bad one)
 * @param damaged whether the log is damaged (a torn tail past the head's count is a writer's append
 *                in flight, not damage)
 */
record AuditReading(long entries, boolean damaged) {

    /**
     * Reads {@code dir}'s audit log, each entry to {@code each}; {@code what} names what counts
     * only the entries read ("are listed", its N the count).
     */
    static AuditReading of(Path dir, String volume, String what, Consumer<? super AuditEntry> each)
            throws IOException {
        AuditVerifier.Result read = AuditLog.forEach(dir, each);
        boolean damaged = !read.intact() && (!read.tornTail() || read.entries() < read.headEntries());
        if (damaged) {
            System.err.println("tapline: warning: the audit log of volume " + volume + " is not intact ("
                    + read.problem() + "): " + what.replace("N", Long.toString(read.entries()))
                    + "; see `tapline audit verify`");
        }
        return new AuditReading(read.entries(), damaged);
    }
}
