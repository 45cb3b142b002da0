package io.tapline.replay;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.BeforeImages;
import io.tapline.log.undo.UndoLog;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.util.List;

/**
 * Applies one long DISCARD or WRITE_ZEROES (mkfs's whole-device TRIM) in steps whose
 * before-images are bounded, instead of saving every allocated byte of the range before the
 * first byte is zeroed.
 *
 * <p>Ordering contract, per step: the before-images of the step's pieces ({@link #PIECE_BYTES}
 * of range each, holes skipped by {@link BeforeImages}) are appended until they reach
 * {@link #STEP_UNDO_BYTES}, the undo log is fdatasync'd, and only then is the step's range zeroed
 * on the replica. Example, a 1 TiB TRIM over a replica holding 200 MiB: pieces are read until
 * 64 MiB of before-images are saved, say [0, 300 MiB); sync; zero [0, 300 MiB); next pieces from
 * 300 MiB on. The caller wrote every earlier record of its group first (pieces overlay nothing),
 * and the group's {@code applied.state} is persisted only after the last step, so a crash or an
 * error between steps is undone like any half-applied group (every undo record above the applied
 * sequence, newest first).
 *
 * <p>Not thread-safe: on the volume's apply thread.
 */
final class ZeroInSteps {
    /** Range read for before-images in one go. */
    static final long PIECE_BYTES = 64L << 20;
    /** Before-image bytes saved (and synced) per step. */
    static final long STEP_UNDO_BYTES = 64L << 20;

    /** A durable step of the undo log (its fdatasync, with the caller's error handling). */
    interface UndoSync {
        void sync() throws IOException;
    }

    private final VolumeFile replica;
    private final UndoLog undo;
    private final UndoSync undoSync;
    private final ApplyFaults faults;

    ZeroInSteps(VolumeFile replica, UndoLog undo, UndoSync undoSync, ApplyFaults faults) {
        this.replica = replica;
        this.undo = undo;
        this.undoSync = undoSync;
        this.faults = faults;
    }

    /** Whether {@code r} is applied here rather than with its group's before-images. */
    static boolean takes(CaptureRecord r) {
        return (r.kind() == RecordKind.DISCARD || r.kind() == RecordKind.WRITE_ZEROES) && r.lengthBytes() > PIECE_BYTES;
    }

    /** Saves the before-images of {@code r} and zeroes its range, step by step. */
    void apply(CaptureRecord r) throws IOException {
        boolean mayDeallocate = r.kind() == RecordKind.DISCARD || (r.flags() & CaptureRecord.FLAG_NO_HOLE) == 0;
        long end = r.offsetBytes() + r.lengthBytes();
        long stepStart = r.offsetBytes();
        long undoAtStepStart = undo.window().bytes();
        for (long pos = r.offsetBytes(); pos < end;) {
            long pieceEnd = Math.min(end, pos + PIECE_BYTES);
            BeforeImages.append(replica, List.of(CaptureRecord.seal(r.volumeId(), r.sequence(), r.captureTimeNanos(),
                    r.kind(), pos, pieceEnd - pos, r.flags(), r.provenance(), null)), undo);
            pos = pieceEnd;
            if (pos == end || undo.window().bytes() - undoAtStepStart >= STEP_UNDO_BYTES) {
                faults.before(ApplyFaults.Op.UNDO_APPEND);
                undoSync.sync();
                faults.before(ApplyFaults.Op.REPLICA_WRITE);
                replica.zero(stepStart, pos - stepStart, mayDeallocate);
                stepStart = pos;
                undoAtStepStart = undo.window().bytes();
            }
        }
    }
}
