package io.tapline.replay;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditLog;
import java.util.ArrayList;
import java.util.List;

/**
 * A batch as it arrived, unpacked and checked ({@link BatchCodec#unpack}: the batch CRC-32C, each
 * record's CRC-32C, dense sequences) and with the SHA-256 of each WRITE's payload that its audit
 * entry carries, all computed where it was received (a session's event loop). The volume's apply
 * thread, serial by the ordering contract, then spends its time on the files, and the audit
 * thread only appends and syncs. A batch that fails its checks keeps the failure, and
 * {@link ReplicaVolume#stageReceived} throws it at the batch's place in the group: the batches
 * before it are applied and acknowledged, nothing after it is, exactly as when the apply thread
 * unpacked it.
 *
 * <p>Keeps what the acknowledgement needs, not the batch's body (the records hold the bytes).
 *
 * @param batchId the batch's identifier, echoed by its ACK
 * @param firstSequence the batch's first sequence number, as the source sent it
 * @param crc32c the batch's CRC-32C, echoed by its ACK
 * @param uncompressedLength the record bytes the batch carries (group sizes are counted in them)
 * @param records the batch's records, in sequence order; {@code null} when {@code failure} is set
 * @param digests per record, the SHA-256 of a WRITE's payload ({@link AuditLog#payloadDigest}),
 *        {@code null} for other kinds; {@code null} when {@code failure} is set
 * @param failure why the batch was refused, or {@code null}
 * @param packed the batch as it came when it is not unpacked yet ({@link #later}), else {@code null}
 */
record ReceivedBatch(long batchId, long firstSequence, int crc32c, int uncompressedLength, List<CaptureRecord> records,
        List<byte[]> digests, RuntimeException failure, JourneyMessage.Batch packed) {

    /**
     * A batch queued as it came, to be unpacked by whoever applies it ({@link #unpacked}): a session
     * unpacks ahead only up to a bound of bytes, since an unpacked batch holds its uncompressed
     * bytes (up to several times the compressed batch).
     */
    static ReceivedBatch later(JourneyMessage.Batch batch) {
        return new ReceivedBatch(batch.batchId(), batch.firstSequence(), batch.crc32c(), batch.uncompressedLength(),
                null, null, null, batch);
    }

    /** Whether the batch is unpacked already (its bytes held uncompressed). */
    boolean isUnpacked() {
        return packed == null;
    }

    /** This batch unpacked: itself, or unpacked now on the calling thread if it was queued as it came. */
    ReceivedBatch unpacked() {
        return packed == null ? this : unpack(packed);
    }

    /** Unpacks, checks and digests {@code batch}; never throws for a damaged batch (the failure is kept). */
    static ReceivedBatch unpack(JourneyMessage.Batch batch) {
        long t0 = System.nanoTime();
        List<CaptureRecord> records;
        try {
            records = BatchCodec.unpack(batch);
        } catch (RuntimeException e) {
            return new ReceivedBatch(batch.batchId(), batch.firstSequence(), batch.crc32c(), batch.uncompressedLength(),
                    null, null, e, null);
        }
        List<byte[]> digests = new ArrayList<>(records.size());
        for (CaptureRecord r : records) {
            digests.add(r.kind() == RecordKind.WRITE ? AuditLog.payloadDigest(r.payload()) : null);
        }
        BatchApply.PHASES.unpack.add(System.nanoTime() - t0);
        return new ReceivedBatch(batch.batchId(), batch.firstSequence(), batch.crc32c(), batch.uncompressedLength(),
                records, digests, null, null);
    }

    /** The records, or the failure thrown; only for an unpacked batch. */
    List<CaptureRecord> checkedRecords() {
        if (packed != null) {
            throw new IllegalStateException("batch " + batchId + " not unpacked");
        }
        if (failure != null) {
            throw failure;
        }
        return records;
    }

    @Override
    public String toString() {
        return "batch " + batchId + " from seq " + firstSequence
                + (failure == null ? "" : " (refused: " + failure.getMessage() + ")");
    }
}
