package io.tapline.log.undo;

import io.tapline.log.CaptureRecord;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Takes the before-images of a batch of records before any of them is written, so that one
 * undo-log sync covers the whole batch.
 *
 * <p>The before-image of record N must be the range as it is after records before N were
 * applied. Since none is applied yet, it is read from the replica and then overlaid, in order,
 * with every earlier record of the batch that overlaps it. Example: seq 7 WRITE [0,4) "bbbb",
 * seq 8 WRITE [2,6): the before-image of 8 is the replica's [2,6) with [2,4) replaced by "bb".
 *
 * <p>Stateless and thread-safe; the replica is only read.
 */
public final class BeforeImages {
    /** Largest replica range read in one go for a run of contiguous records. */
    static final int WINDOW_BYTES = 8 << 20;
    private static final byte[] EMPTY = new byte[0];
    private BeforeImages() {
    }

    /**
     * Appends to {@code undo}, in order, one or more undo records for each of {@code records}
     * (which are in sequence order and not yet applied). Kinds that change no data get a note.
     */
    public static void append(VolumeFile replica, List<CaptureRecord> records, UndoLog undo) throws IOException {
        byte[] window = EMPTY;
        long windowOffset = 0;
        boolean overlaps = anyOverlap(records);
        for (int n = 0; n < records.size(); n++) {
            CaptureRecord r = records.get(n);
            if (!r.kind().changesData() || r.lengthBytes() == 0) {
                undo.append(UndoRecord.note(r.sequence(), r.captureTimeNanos(), r.kind()));
                continue;
            }
            long end = r.offsetBytes() + r.lengthBytes();
            if (r.lengthBytes() > WINDOW_BYTES) {
                appendLong(replica, records, n, undo); // a large TRIM or WRITE_ZEROES: chunk by chunk
                continue;
            }
            if (r.offsetBytes() < windowOffset || end > windowOffset + window.length) {
                // One pread for this record and the records right after it that continue its range
                // (a sequential stream of small writes), instead of one per record.
                long runEnd = runEnd(records, n);
                window = new byte[(int) (runEnd - r.offsetBytes())];
                windowOffset = r.offsetBytes();
                replica.read(windowOffset, ByteBuffer.wrap(window));
            }
            for (long pos = r.offsetBytes(); pos < end; pos += UndoSegment.MAX_DATA_BYTES) {
                int len = (int) Math.min(UndoSegment.MAX_DATA_BYTES, end - pos);
                int from = (int) (pos - windowOffset);
                byte[] old = Arrays.copyOfRange(window, from, from + len);
                if (overlaps) {
                    overlay(old, pos, records, n);
                }
                undo.append(UndoRecord.of(r.sequence(), r.captureTimeNanos(), r.kind(), pos, old));
            }
        }
    }

    /**
     * Whether any two data records of the batch overlap. Most batches (a sequential stream, or
     * scattered small writes) have none, and then no before-image needs the overlay, which costs
     * one pass over the earlier records of the batch per record.
     */
    static boolean anyOverlap(List<CaptureRecord> records) {
        long[][] ranges = new long[records.size()][];
        int n = 0;
        for (CaptureRecord r : records) {
            if (r.kind().changesData() && r.lengthBytes() > 0) {
                ranges[n++] = new long[] {r.offsetBytes(), r.offsetBytes() + r.lengthBytes()};
            }
        }
        Arrays.sort(ranges, 0, n, (a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < n; i++) {
            if (ranges[i][0] < ranges[i - 1][1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * A range longer than {@link #WINDOW_BYTES} (a whole-device TRIM from mkfs): holes of the
     * replica ({@code SEEK_DATA}/{@code SEEK_HOLE}) that no earlier record of the batch writes get
     * one zero before-image each, without reading them; only the allocated parts are read, 1 MiB at
     * a time. Example: a 1 TiB DISCARD over a replica holding 10 MiB costs about 10 reads and a few
     * zero records, not 2^20 reads.
     */
    private static void appendLong(VolumeFile replica, List<CaptureRecord> records, int n, UndoLog undo)
            throws IOException {
        CaptureRecord r = records.get(n);
        long end = r.offsetBytes() + r.lengthBytes();
        long pos = r.offsetBytes();
        while (pos < end) {
            long data = Math.min(end, replica.nextDataOffset(pos));
            if (data > pos && !earlierRecordTouches(records, n, pos, data)) {
                undo.append(new UndoRecord(r.sequence(), r.captureTimeNanos(), r.kind(), pos, data - pos, true, null));
                pos = data;
                continue;
            }
            long stop = data > pos ? data : Math.min(end, Math.max(replica.nextHoleOffset(pos), pos + 1));
            for (; pos < stop; pos += UndoSegment.MAX_DATA_BYTES) {
                byte[] old = new byte[(int) Math.min(UndoSegment.MAX_DATA_BYTES, stop - pos)];
                replica.read(pos, ByteBuffer.wrap(old));
                overlay(old, pos, records, n);
                undo.append(UndoRecord.of(r.sequence(), r.captureTimeNanos(), r.kind(), pos, old));
            }
            pos = stop;
        }
    }

    /** Whether a data record before {@code n} in the batch writes into {@code [from, to)}. */
    private static boolean earlierRecordTouches(List<CaptureRecord> records, int n, long from, long to) {
        for (int j = 0; j < n; j++) {
            CaptureRecord e = records.get(j);
            if (e.kind().changesData() && e.offsetBytes() < to && e.offsetBytes() + e.lengthBytes() > from) {
                return true;
            }
        }
        return false;
    }

    /**
     * End of the contiguous range that starts with record {@code n}: it grows over following
     * data records that start where the previous one ended, up to {@link #WINDOW_BYTES} (a single
     * record longer than that is read alone).
     */
    private static long runEnd(List<CaptureRecord> records, int n) {
        CaptureRecord first = records.get(n);
        long end = first.offsetBytes() + first.lengthBytes();
        for (int m = n + 1; m < records.size(); m++) {
            CaptureRecord r = records.get(m);
            if (!r.kind().changesData() || r.offsetBytes() != end
                    || end + r.lengthBytes() - first.offsetBytes() > WINDOW_BYTES) {
                break;
            }
            end += r.lengthBytes();
        }
        return end;
    }

    /** Applies records [0, upTo) of the batch to {@code buf}, which holds the volume at {@code bufOffset}. */
    private static void overlay(byte[] buf, long bufOffset, List<CaptureRecord> records, int upTo) {
        long bufEnd = bufOffset + buf.length;
        for (int j = 0; j < upTo; j++) {
            CaptureRecord e = records.get(j);
            if (!e.kind().changesData()) {
                continue;
            }
            long from = Math.max(bufOffset, e.offsetBytes());
            long to = Math.min(bufEnd, e.offsetBytes() + e.lengthBytes());
            if (from >= to) {
                continue;
            }
            int dst = (int) (from - bufOffset);
            int n = (int) (to - from);
            if (e.kind() == io.tapline.log.RecordKind.WRITE) {
                System.arraycopy(e.payload(), (int) (from - e.offsetBytes()), buf, dst, n);
            } else {
                Arrays.fill(buf, dst, dst + n, (byte) 0);
            }
        }
    }
}
