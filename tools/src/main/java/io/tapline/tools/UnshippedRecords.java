package io.tapline.tools;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.log.buffer.SequenceNotRetainedException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * What a fenced primary captured after the sequence its promoted peer had applied: the ranges
 * those records touched (to keep them aside before a resync overwrites them), how many there
 * are, and whether any was captured after the peer's promotion (then both sides were written
 * while apart: a split brain).
 *
 * @param records            records after the sequence
 * @param bytes              bytes their ranges cover
 * @param ranges             their {@code [offset, length]} ranges, in record order, or one
 *                           {@code [0, Long.MAX_VALUE]} when the buffer no longer holds them all
 * @param afterPromotion     records captured after the peer's promotion (all, when unknown)
 */
record UnshippedRecords(long records, long bytes, List<long[]> ranges, long afterPromotion) {

    /** Reads {@code buffer} from {@code afterSequence + 1} to its end. */
    static UnshippedRecords read(CaptureBuffer buffer, long afterSequence, long promotedAtMillis)
            throws IOException, InterruptedException {
        long last = buffer.lastSequence();
        List<long[]> ranges = new ArrayList<>();
        long records = 0;
        long bytes = 0;
        long after = 0;
        if (last <= afterSequence) {
            return new UnshippedRecords(0, 0, ranges, 0);
        }
        try (RecordReader reader = buffer.openReader(afterSequence + 1)) {
            if (reader.position() != afterSequence + 1) {
                return whole(last - afterSequence);
            }
            while (reader.position() <= last) {
                CaptureRecord r = reader.next(1000);
                if (r == null) {
                    break;
                }
                records++;
                if (r.captureTimeNanos() / 1_000_000 > promotedAtMillis) {
                    after++;
                }
                if (r.lengthBytes() > 0 && r.kind() != RecordKind.MARK && r.kind() != RecordKind.FLUSH) {
                    ranges.add(new long[] {r.offsetBytes(), r.lengthBytes()});
                    bytes += r.lengthBytes();
                }
            }
        } catch (SequenceNotRetainedException e) {
            return whole(last - afterSequence);
        }
        return new UnshippedRecords(records, bytes, ranges, after);
    }

    /**
     * The buffer lost some of them (another remote acknowledged them): keep the whole volume
     * aside, and count them all as written after the promotion (when is unknown).
     */
    private static UnshippedRecords whole(long records) {
        return new UnshippedRecords(records, -1, List.of(new long[] {0, Long.MAX_VALUE}), records);
    }
}
