package io.tapline.log.crash;

import java.nio.file.Path;

/**
 * A workload on one kind of durable file, and the oracle that judges what a power cut left of it.
 */
interface CrashWorkload {
    /** The file kind explored, for the report. */
    String kind();

    /**
     * Runs the workload under {@code root} (a recording path), noting in its own ledger what was
     * acknowledged after which trace position ({@code trace.size()}).
     */
    void run(Path root, FileOpTrace trace) throws Exception;

    /**
     * What the oracle expects of a cut after {@code opsDone} operations, as a key: two cuts with
     * equal keys and equal disk images need one check.
     */
    String expectationAt(int opsDone);

    /**
     * Opens what a cut after {@code opsDone} operations left in {@code dir} (a real directory, a
     * copy of the state) with recovery, and checks it; throws AssertionError (or any exception)
     * when recovery refuses or loses or invents data.
     */
    void check(Path dir, int opsDone) throws Exception;

    /** States that recovery refused with its documented repair, an allowed outcome (counted for the report). */
    default long refusedWithRepair() {
        return 0;
    }
}
