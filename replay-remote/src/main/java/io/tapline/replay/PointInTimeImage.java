package io.tapline.replay;

import io.tapline.log.undo.UndoLog;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.nio.file.StandardOpenOption;

/**
 * Materialises a volume as of an earlier sequence, time or mark into a new file, from the
 * replica and the undo log, without changing either and without pausing replication.
 *
 * <p>Consistency while batches keep landing: the replica is copied first (it may be a mix of
 * sequences L1..L2 while the copy runs), and only then is the undo log opened. Every replica
 * byte the copy saw changed above the target has its before-image in the undo log already
 * (undo is durable before the replica is written), so applying every undo record above the
 * target newest first yields exactly the volume at the target (see {@link UndoLog}).
 *
 * <p>Refused while a rollback is in progress, and a rollback is refused while an image is made
 * ({@link RollbackLock}): a rollback between the copy and the undo replay would mix two states.
 * Stateless; file I/O on the caller's thread.
 */
public final class PointInTimeImage {
    private static final int CHUNK = 1 << 20;

    private PointInTimeImage() {
    }

    /**
     * Writes the image of {@code volumeId} at the target to {@code out} (created or replaced,
     * sparse where the volume reads as zeroes).
     *
     * @return the sequence the image is at
     * @throws RefusedException when the target is unknown or outside the window
     */
    public static long write(Path dataDir, String volumeId, int targetKind, long value, String markName, Path out)
            throws IOException, RefusedException {
        return write(dataDir, volumeId, targetKind, value, markName, out, () -> { });
    }

    /**
     * What an image is: its sequence, and whether the source's disk was ever in that state (the
     * target lies inside one of the replica's known consistent runs, as a rollback to it would be
     * called consistent) or why not.
     *
     * @param sequence    the sequence the image is at
     * @param consistent  whether it is a state the source's volume had
     * @param outOfSyncBy why it is not, or null
     */
    public record Image(long sequence, boolean consistent, String outOfSyncBy) {
    }

    /** {@link #write}, and whether the image is a consistent point ({@link Image}). */
    public static Image image(Path dataDir, String volumeId, int targetKind, long value, String markName, Path out,
            Progress progress) throws IOException, RefusedException {
        return make(dataDir, volumeId, targetKind, value, markName, out, () -> { }, progress);
    }

    /** How far the copy of the replica is (an image's long part); called on the copying thread. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (done, total) -> { };

        /** {@code doneBytes} of the replica's {@code totalBytes} are copied or known to be holes. */
        void copied(long doneBytes, long totalBytes);

        /** Then {@code done} of the {@code total} undo records above the target are replayed onto the copy. */
        default void replayed(long done, long total) {
        }
    }

    /** {@link #write} with {@code afterCopy} run between the copy and the undo replay (tests). */
    static long write(Path dataDir, String volumeId, int targetKind, long value, String markName, Path out,
            Runnable afterCopy) throws IOException, RefusedException {
        return make(dataDir, volumeId, targetKind, value, markName, out, afterCopy, Progress.NONE).sequence();
    }

    private static Image make(Path dataDir, String volumeId, int targetKind, long value, String markName, Path out,
            Runnable afterCopy, Progress progress) throws IOException, RefusedException {
        Path dir = dataDir.resolve(volumeId);
        if (VolumeMeta.read(dir) == null) {
            throw new RefusedException("no volume " + volumeId + " in " + dataDir);
        }
        try (RollbackLock held = RollbackLock.forImage(dir, volumeId)) {
            return writeLocked(dir, volumeId, targetKind, value, markName, out, afterCopy, progress);
        }
    }

    private static Image writeLocked(Path dir, String volumeId, int targetKind, long value, String markName, Path out,
            Runnable afterCopy, Progress progress) throws IOException, RefusedException {
        checkNoRollback(dir, volumeId);
        checkOut(dir, volumeId, out);
        target(dir, volumeId, targetKind, value, markName); // refused before anything is copied or written
        // Written beside --out under a temporary name, renamed over it once complete: a refusal, a
        // failure or a kill never leaves a partial image at --out, nor touches a file that was there.
        Path partial = out.toAbsolutePath().resolveSibling("." + out.getFileName() + ".tapline-partial-"
                + ProcessHandle.current().pid());
        boolean done = false;
        try {
            copySparse(dir.resolve(ReplicaVolume.REPLICA_FILE), partial, progress);
            afterCopy.run();
            Image made = replayUndo(dir, volumeId, targetKind, value, markName, partial, progress);
            java.nio.file.Files.move(partial, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            io.tapline.log.DurableFiles.syncDirectory(out.toAbsolutePath().getParent());
            done = true;
            return made;
        } catch (java.nio.file.FileSystemException e) {
            throw e; // names its file
        } catch (IOException e) {
            // A bare errno ("No space left on device") names neither the file nor what became of --out (probe O O3).
            throw new IOException("making the image " + partial + ": " + io.tapline.log.DurableFiles.reason(e) + " ("
                    + out + " is unchanged)", e);
        } finally {
            if (!done) {
                Files.deleteIfExists(partial);
            }
        }
    }

    /**
     * An image is written to a new file or in place of a regular file, never over a file of the
     * volume itself (its replica, undo log, audit log...), a file in any Tapline buffer or data
     * directory, a file another process holds open (a wedge's primary, a replayer's replica), nor a
     * device.
     */
    private static void checkOut(Path dir, String volumeId, Path out) throws IOException, RefusedException {
        Path absolute = out.toAbsolutePath().normalize();
        if (absolute.startsWith(dir.toAbsolutePath().normalize())) {
            throw new RefusedException("--out: " + out + " (expected: a path outside the volume's directory " + dir + ")");
        }
        Path parent = absolute.getParent();
        // A new file too: an image beside a running wedge's segments fills the disk that turns its buffer FULL.
        for (String marker : new String[] {".lock", io.tapline.log.buffer.CaptureBuffer.STATE_FILE, VolumeMeta.FILE}) {
            if (parent != null && Files.exists(parent.resolve(marker))) {
                throw new RefusedException("--out: " + out + " is in a Tapline buffer or data directory (" + parent
                        + " holds " + marker + "; expected: a path outside them)");
            }
        }
        if (!Files.exists(out)) {
            return;
        }
        if (!Files.isRegularFile(out)) {
            throw new RefusedException("--out: " + out + " (expected: a regular file or a new path)");
        }
        List<String> holders = OpenFiles.holders(out);
        if (!holders.isEmpty()) {
            throw new RefusedException("--out: " + out + " is open in process " + String.join(", ", holders)
                    + " (expected: a file no program uses: replacing it would leave that program writing a deleted"
                    + " file)");
        }
        try (java.util.stream.Stream<Path> files = Files.walk(dir, 3)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                if (Files.isSameFile(f, out)) {
                    throw new RefusedException("--out: " + out + " is " + f + " of volume " + volumeId
                            + " (expected: another file)");
                }
            }
        }
    }

    /** The target's sequence, checked against the window as it is now. */
    private static long target(Path dir, String volumeId, int targetKind, long value, String markName)
            throws IOException, RefusedException {
        // The applied sequence first, then the undo log: a running replayer makes a group's undo
        // records durable before its applied.state, so read in this order the log always reaches the
        // applied sequence. Read the other way round (the log opened first), a busy replayer's
        // applied sequence had moved past what the log showed: "an undo segment deleted or lost?"
        // (probe Q D11: every image of a replica under writes failed).
        AppliedState.Durable st = AppliedState.peekDurable(dir);
        try (UndoLog undo = UndoLog.openReadOnly(dir.resolve("undo"))) {
            return target(dir, volumeId, targetKind, value, markName, undo, st);
        }
    }

    private static long target(Path dir, String volumeId, int targetKind, long value, String markName, UndoLog undo,
            AppliedState.Durable st) throws IOException, RefusedException {
        long lastApplied = st == null ? 0 : st.lastApplied();
        long exactFrom = st == null ? 0 : st.sync().exactFrom();
        return RollbackTargets.resolveReachable(volumeId, targetKind, value, markName, undo,
                MarkIndexRecovery.read(dir), lastApplied, Math.max(lastApplied, undo.newestSequence()), exactFrom);
    }

    /** After the copy: the undo log as it is now (it covers what was applied during the copy) replayed onto it. */
    private static Image replayUndo(Path dir, String volumeId, int targetKind, long value, String markName, Path copy,
            Progress progress) throws IOException, RefusedException {
        AppliedState.Durable st = AppliedState.peekDurable(dir);
        try (UndoLog undo = UndoLog.openReadOnly(dir.resolve("undo"));
                VolumeFile image = VolumeFile.openExisting(copy)) {
            long target = target(dir, volumeId, targetKind, value, markName, undo, st);
            undo.replayAbove(target, GatheringRestorer.of(image), progress::replayed);
            checkNoRollback(dir, volumeId);
            SyncState there = (st == null ? SyncState.consistentAt(0) : st.sync()).rolledBackTo(target);
            return new Image(target, there.consistent(), there.consistent() ? null
                    : VolumeStatus.of(volumeId, target, there, null, 0, false).reason()
                            .replaceFirst("; a (whole-volume )?resync heals it$", "")); // the replica's cure, not the image's
        }
    }

    private static void checkNoRollback(Path dir, String volumeId) throws IOException, RefusedException {
        if (Files.exists(dir.resolve(ControlFiles.INTENT))) {
            throw new RefusedException("volume " + volumeId + " is being rolled back; retry once it is done");
        }
    }

    /**
     * Copies the replica, sparse: only the ranges its file system says hold data are read (holes
     * are skipped where they are believed, {@link VolumeFile#holesSeeWrites}; elsewhere everything
     * is read), and of those only the 1 MiB pieces that are not all zero are written. A hole the
     * replayer fills after the copy passed it was zeroes when passed, and the write that filled it
     * left its before-image (zeroes) in the undo log: the same as a read of those zeroes.
     */
    private static void copySparse(Path from, Path to, Progress progress) throws IOException {
        try (VolumeFile in = VolumeFile.openForReading(from);
                FileChannel outCh = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
            long size = in.sizeBytes();
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
            byte[] probe = new byte[CHUNK];
            long pos = 0;
            while (pos < size) {
                long data = in.nextDataOffset(pos);
                if (data >= size) {
                    break;
                }
                long hole = Math.max(in.nextHoleOffset(data), Math.min(size, data + 1));
                for (long at = data; at < hole; at += CHUNK) {
                    buf.clear().limit((int) Math.min(CHUNK, hole - at));
                    in.read(at, buf);
                    buf.flip();
                    buf.duplicate().get(probe, 0, buf.remaining());
                    if (!UndoRecordZero.isZero(probe, buf.remaining())) {
                        long p = at;
                        while (buf.hasRemaining()) {
                            p += outCh.write(buf, p);
                        }
                    }
                    progress.copied(Math.min(hole, at + CHUNK), size);
                }
                pos = hole;
            }
            progress.copied(size, size);
            outCh.truncate(size);
            if (outCh.size() < size) {
                outCh.write(ByteBuffer.allocate(1), size - 1);
            }
            outCh.force(true);
        }
    }

    /** Zero test over a prefix of an array. */
    private static final class UndoRecordZero {
        static boolean isZero(byte[] b, int n) {
            for (int i = 0; i < n; i++) {
                if (b[i] != 0) {
                    return false;
                }
            }
            return true;
        }
    }
}
