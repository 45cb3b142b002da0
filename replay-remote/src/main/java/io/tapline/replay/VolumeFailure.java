package io.tapline.replay;

import java.io.SyncFailedException;

/**
 * Why a replica volume is {@code failed}, and what clears it. Immutable; a volume holds the
 * current one in a volatile field (written on its apply thread, read by status on any thread).
 *
 * <ul>
 *   <li>{@link Kind#APPLY}: a group failed part-way (EIO, ENOSPC). Reopening the volume's files
 *       undoes it from its before-images; the state stays failed until a group applies.
 *   <li>{@link Kind#ROLLBACK}: a rollback failed part-way. Reopening completes it from
 *       {@code rollback.intent}; until then every source is refused.
 *   <li>{@link Kind#SYNC}: an fdatasync of the replica or the undo log failed. Linux may have
 *       dropped the dirty pages and marked them clean, so no later sync proves them durable:
 *       only a restart (whose recovery rewrites the group's ranges from the undo log) clears it.
 * </ul>
 *
 * @param kind   what failed
 * @param reason the one line status, sources and administrators see
 */
record VolumeFailure(Kind kind, String reason) {
    private static final String REOPEN_FAILED = "; reopening to undo it failed: ";

    /** What failed. */
    enum Kind {
        APPLY,
        ROLLBACK,
        SYNC,
        /** The image at the path is not the file held (deleted, replaced, resized): the reopen heals it. */
        IMAGE
    }

    /** A group of records {@code firstSeq..lastSeq} failed while it was applied. */
    static VolumeFailure applying(String volumeId, long firstSeq, long lastSeq, Exception e) {
        String range = "applying seq " + firstSeq + ".." + lastSeq + " failed: " + e.getMessage();
        if (e instanceof SyncFailedException) {
            return new VolumeFailure(Kind.SYNC, range + ": the kernel may have dropped the written pages, so no later"
                    + " sync can prove them durable; volume " + volumeId + " is refused until the replayer restarts"
                    + " (recovery then undoes the group from the undo log): check the disk first");
        }
        return new VolumeFailure(Kind.APPLY, range + "; undone and retried when the source reconnects");
    }

    /** The rollback {@code intent} stopped part-way on {@code cause}. */
    static VolumeFailure rollback(String volumeId, ControlFiles intent, Exception cause) {
        return new VolumeFailure(Kind.ROLLBACK, "volume " + volumeId + " is half rolled back: the rollback to seq "
                + intent.target() + " (from seq " + intent.from() + ", by " + intent.text() + ") failed part-way: "
                + cause.getMessage() + "; sources are refused until it completes: the replayer retries it when a"
                + " source connects, on the next `tapline rollback` and at restart (" + ControlFiles.INTENT + ");"
                + " if an undo record is damaged, move the damaged undo segment and everything newer aside, delete "
                + ControlFiles.INTENT + " and resync the whole volume");
    }

    /** The same failure, and reopening the files to undo it failed too (only the latest attempt is named). */
    VolumeFailure reopenFailed(Exception e) {
        int earlier = reason.indexOf(REOPEN_FAILED);
        return new VolumeFailure(kind, (earlier >= 0 ? reason.substring(0, earlier) : reason) + REOPEN_FAILED
                + e.getMessage());
    }

    /** Whether only a restart of the replayer clears it. */
    boolean needsRestart() {
        return kind == Kind.SYNC;
    }
}
