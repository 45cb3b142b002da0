package io.tapline.tools;

import io.tapline.journey.resync.ResyncStatus;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code source-status.json} in a buffer's volume directory: what the running source process
 * knows beyond its links: the resync engine's progress and the buffer's storage error, rewritten
 * about once a second for {@code tapline status} and {@code tapline resync} in other processes.
 * Advisory (temp file + rename, no fsync).
 *
 * @param resync          the resync engine, null for a source that cannot resync (a snoop)
 * @param storageError    why the buffer cannot store records now; empty when it can
 * @param running         false once the process stopped
 * @param updatedAtMillis when it was written
 * @param cycles          where the cycles stand, for a volume in cycle mode; null in journal mode
 * @param notShippingBecause why the volume is meant to ship and has no shipper yet (a snoop that never
 *                        saw its size); null when it ships or is not meant to. Such a volume is never synced.
 * @param auditError      why the source's own audit log ({@link SourceAuditTrail}) is not being written; null
 *                        when it is (absent in files of earlier versions)
 */
public record SourceStatusFile(ResyncStatus resync, String storageError, boolean running, long updatedAtMillis,
        io.tapline.journey.resync.CycleStatus cycles, String notShippingBecause, String auditError) {
    /** File name inside the volume directory. */
    public static final String NAME = "source-status.json";

    /** Replaces the file. */
    public void write(Path volumeDir) throws IOException {
        AdvisoryFiles.writeJson(volumeDir, NAME, this);
    }

    /** Reads the file, or null when there is none. */
    public static SourceStatusFile read(Path volumeDir) throws IOException {
        return AdvisoryFiles.readJson(volumeDir, NAME, SourceStatusFile.class);
    }
}
