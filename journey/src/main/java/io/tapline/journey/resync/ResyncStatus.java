package io.tapline.journey.resync;

/**
 * A snapshot of a volume's resync engine, for status, metrics and the CLI's progress.
 *
 * @param state            idle, waiting (see detail), resyncing
 * @param detail           what it waits for or works on
 * @param epoch            hex id of the current or last epoch; empty if none yet
 * @param full             whether the current or last epoch compares the whole volume
 * @param chunksTotal      chunks to compare in the current epoch
 * @param chunksCompared   chunks compared so far
 * @param bytesCompared    source bytes read and compared
 * @param bytesSent        bytes appended as resync WRITEs (what crosses the link)
 * @param epochsCompleted  epochs finished since start
 * @param lastResult       how the last epoch ended; empty if none
 */
public record ResyncStatus(String state, String detail, String epoch, boolean full, long chunksTotal,
        long chunksCompared, long bytesCompared, long bytesSent, long epochsCompleted, String lastResult) {
    /**
     * The figures in words: the running epoch's progress while resyncing; otherwise they belong to
     * the last epoch, and say so (a waiting engine has compared nothing yet).
     */
    public String progressText() {
        String figures = "compared " + chunksCompared + "/" + chunksTotal + " chunks (" + bytesCompared + " bytes), sent "
                + bytesSent + " bytes";
        if (state.equals("resyncing")) {
            return figures;
        }
        return epoch.isEmpty() ? "no epoch yet" : "last epoch " + epoch + ": " + figures;
    }
}
