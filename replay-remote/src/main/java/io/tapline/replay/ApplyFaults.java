package io.tapline.replay;

import java.io.IOException;

/**
 * The seam where tests inject I/O errors into a volume's apply path: {@link #before} runs just
 * before each file operation and may throw what the real call would (EIO, ENOSPC). A fault at a
 * {@code *_SYNC} point stands for a failed fdatasync and is reported as one. Production uses
 * {@link #NONE}.
 *
 * <p>Called on the volume's apply thread, and for the replica fdatasync of a staged group on its
 * sync thread ({@link BatchApply#stage}).
 */
interface ApplyFaults {
    /** The file operations of one applied group, in the order they happen. */
    enum Op {
        /** After the group's before-images were appended, before the undo sync (an ENOSPC on the undo disk). */
        UNDO_APPEND,
        /** The undo log's fdatasync. */
        UNDO_SYNC,
        /** Each pwrite or zeroing of the replica. */
        REPLICA_WRITE,
        /** Each fdatasync of the replica. */
        REPLICA_SYNC,
        /** The audit log's sync of a group's entries (on the audit thread: an ENOSPC on the audit disk). */
        AUDIT_SYNC
    }

    ApplyFaults NONE = op -> { };

    void before(Op op) throws IOException;
}
