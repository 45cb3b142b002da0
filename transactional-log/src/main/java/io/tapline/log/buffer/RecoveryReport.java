package io.tapline.log.buffer;

/**
 * What opening a capture buffer found and did.
 *
 * @param segments         segment files found
 * @param records          valid records kept
 * @param tornTailBytes    bytes trimmed from the end of the last segment (a write cut short by a crash)
 * @param tornTailFile     the file that was trimmed, or {@code null}
 */
public record RecoveryReport(int segments, long records, long tornTailBytes, String tornTailFile) {
    /** One line for the log and the CLI. */
    public String summary() {
        return tornTailBytes == 0
                ? "recovered " + records + " records in " + segments + " segments, no torn tail"
                : "recovered " + records + " records in " + segments + " segments, trimmed torn tail of "
                        + tornTailBytes + " bytes from " + tornTailFile;
    }
}
