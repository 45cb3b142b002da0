package io.tapline.journey.shipper;

/**
 * What a shipper asks of its volume's resync engine when the replica cannot simply continue from
 * its applied sequence (the records after it are no longer in the buffer, e.g. after a rollback
 * older than the buffer). Implementations are thread-safe.
 */
public interface ResyncCoordinator {
    /** A coordinator for sources that cannot resync (no readable source volume): nothing begins. */
    ResyncCoordinator NONE = new ResyncCoordinator() {
        @Override
        public long fullResyncBegin(long notBefore) {
            return -1;
        }

        @Override
        public void requestFull(String remoteId, String reason) {
        }
    };

    /**
     * The sequence of the RESYNC_BEGIN record of a full resync epoch at or after {@code notBefore}
     * that is still retained in the buffer, or -1 when there is none (yet).
     */
    long fullResyncBegin(long notBefore);

    /** Asks for a full resync: {@code remoteId}'s replica cannot continue, for {@code reason}. */
    void requestFull(String remoteId, String reason);

    /**
     * How many changes of the source no record carries: cycle mode's blocks written since the last
     * copied cycle (a frozen cycle not yet copied counts too), chunks tracked for a resync. Said to
     * the replicas as the source stops ({@code SourceStopping}); 0 when none.
     */
    default long unshippedChanges() {
        return 0;
    }
}
