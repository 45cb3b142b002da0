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
    private BeforeImages() {
    }

    /**
     * Appends to {@code undo}, in order, one or more undo records for each of {@code records}
     * (which are in sequence order and not yet applied). Kinds that change no data get a note.
     */
    public static void append(VolumeFile replica, List<CaptureRecord> records, UndoLog undo) throws IOException {
        for (int n = 0; n < records.size(); n++) {
            CaptureRecord r = records.get(n);
            if (!r.kind().changesData() || r.lengthBytes() == 0) {
                undo.append(UndoRecord.note(r.sequence(), r.captureTimeNanos(), r.kind()));
                continue;
            }
            long end = r.offsetBytes() + r.lengthBytes();
            for (long pos = r.offsetBytes(); pos < end; pos += UndoSegment.MAX_DATA_BYTES) {
                int len = (int) Math.min(UndoSegment.MAX_DATA_BYTES, end - pos);
                byte[] old = new byte[len];
                replica.read(pos, ByteBuffer.wrap(old));
                overlay(old, pos, records, n);
                undo.append(UndoRecord.of(r.sequence(), r.captureTimeNanos(), r.kind(), pos, old));
            }
        }
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
