package io.tapline.replay;

import io.tapline.log.undo.UndoLog;
import io.tapline.log.undo.UndoRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Writes before-images back to a replica (rollback) or to an image being materialised, newest
 * first as {@link UndoLog} hands them over, gathering a run of records whose ranges adjoin one
 * another (a sequential stream undone backwards) into one pwrite of up to {@link #GATHER_BYTES}.
 *
 * <p>Why the order still holds: a run only grows with a record that adjoins it and so overlaps
 * none of its records; the run is written before any record that does not adjoin it (which may
 * overlap it) and before {@link #force}. Every byte therefore ends up with the value of the last
 * record applied to it, exactly as if each record had been written on its turn.
 *
 * <p>Not thread-safe; one rollback or image at a time.
 */
final class GatheringRestorer implements UndoLog.Applier {
    static final int GATHER_BYTES = 8 << 20;

    /** Where restored bytes go. */
    interface Target {
        void write(long offsetBytes, ByteBuffer src) throws IOException;

        void zero(long offsetBytes, long lengthBytes) throws IOException;

        void force() throws IOException;
    }

    private final Target target;
    private final List<UndoRecord> run = new ArrayList<>();
    private final ByteBuffer buf = ByteBuffer.allocateDirect(GATHER_BYTES);
    private long runStart;
    private long runEnd;

    GatheringRestorer(Target target) {
        this.target = target;
    }

    static GatheringRestorer of(io.tapline.log.volume.VolumeFile file) {
        return new GatheringRestorer(new Target() {
            @Override
            public void write(long offsetBytes, ByteBuffer src) throws IOException {
                file.write(offsetBytes, src);
            }

            @Override
            public void zero(long offsetBytes, long lengthBytes) throws IOException {
                file.zero(offsetBytes, lengthBytes, true);
            }

            @Override
            public void force() throws IOException {
                file.force();
            }
        });
    }

    @Override
    public void apply(UndoRecord r) throws IOException {
        if (!r.restoresData()) {
            return;
        }
        if (r.zeroes()) {
            flush();
            target.zero(r.offsetBytes(), r.lengthBytes());
            return;
        }
        long end = r.offsetBytes() + r.lengthBytes();
        boolean adjoins = !run.isEmpty() && (end == runStart || r.offsetBytes() == runEnd);
        if (!adjoins || runEnd - runStart + r.lengthBytes() > GATHER_BYTES) {
            flush();
        }
        if (r.lengthBytes() > GATHER_BYTES) {
            target.write(r.offsetBytes(), ByteBuffer.wrap(r.data()));
            return;
        }
        if (run.isEmpty()) {
            runStart = r.offsetBytes();
            runEnd = end;
        } else {
            runStart = Math.min(runStart, r.offsetBytes());
            runEnd = Math.max(runEnd, end);
        }
        run.add(r);
    }

    /** Writes the gathered run. */
    void flush() throws IOException {
        if (run.isEmpty()) {
            return;
        }
        run.sort(Comparator.comparingLong(UndoRecord::offsetBytes));
        buf.clear();
        for (UndoRecord r : run) {
            buf.put(r.data());
        }
        buf.flip();
        target.write(runStart, buf);
        run.clear();
    }

    @Override
    public void force() throws IOException {
        flush();
        target.force();
    }
}
