package io.tapline.log.buffer;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Reads a buffer directory's status from its files alone, for a process other than the writer
 * ({@code tapline status}) while the writer may be appending, rolling and deleting segments.
 * Reads only record headers (no payloads, no CRCs) of the newest segment, tolerating a tail that
 * is still being written; retries when a file changes under it.
 *
 * <p>Stateless and thread-safe.
 */
final class BufferStatusReader {
    /** A writer deleting acknowledged segments can race a reader many times in a row on a loaded host. */
    private static final int ATTEMPTS = 100;

    private BufferStatusReader() {
    }

    static BufferStatus read(Path dir) throws IOException {
        Path stateFile = dir.resolve(SegmentNames.STATE_FILE);
        if (!Files.isRegularFile(stateFile)) {
            throw new NoSuchFileException(stateFile.toString(), null,
                    "not a capture buffer directory (expected: a " + SegmentNames.STATE_FILE + " file)");
        }
        IOException lastFailure = null;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            try {
                return readOnce(dir, stateFile);
            } catch (NoSuchFileException | BufferCorruptException e) {
                lastFailure = e; // A segment deleted or the state file rewritten under us: look again.
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L); // let the writer finish its step
            }
        }
        throw lastFailure;
    }

    private static BufferStatus readOnce(Path dir, Path stateFile) throws IOException {
        BufferState state = BufferState.read(stateFile);
        Map<String, ReleasedRemotes.Release> released = ReleasedRemotes.readAll(dir);
        Map<String, Long> acks = ReleasedRemotes.truthOf(RemoteCursors.readAll(dir), released);
        List<Path> files = SegmentNames.listSegments(dir);
        int headerBytes = SegmentHeader.sizeFor(state.volumeId());
        long retained = 0;
        for (Path f : files) {
            retained += Files.size(f);
        }
        long first = 1;
        long last = 0;
        if (!files.isEmpty()) {
            first = SegmentNames.baseSequenceOf(files.get(0));
            Path newest = files.get(files.size() - 1);
            long base = SegmentNames.baseSequenceOf(newest);
            try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.READ)) {
                SegmentScanner.Found found = SegmentScanner.last(ch, headerBytes, ch.size());
                last = found.entry() == null ? base - 1 : found.entry().sequence();
            }
        }
        long minAck = acks.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
        long oldest = 0;
        if (minAck < last) {
            oldest = captureTimeOf(files, headerBytes, minAck + 1);
        }
        BufferConfig config = state.config();
        BufferMode mode = state.full() ? BufferMode.FULL
                : retained > config.highWaterBytes() ? BufferMode.HIGH_WATER : BufferMode.DATA;
        boolean writeOnce = SequenceReservation.present(dir);
        long[] crash = crashCompare(dir, writeOnce);
        ChangedChunks.Tracked tracked = ChangedChunks.readTracked(dir);
        return new BufferStatus(state.volumeId(), mode, first, last, retained, config.highWaterBytes(),
                config.maxBytes(), acks, oldest, state.lostWrites(), state.gapRecords(), tracked.count(),
                ChangedChunks.WholeVolumeCause.textOf(tracked.cause()), "",
                CapturePause.read(dir), writeOnce ? BufferStatus.WRITE_ONCE : BufferStatus.DURABLE,
                crash[0], crash[1], ReleasedRemotes.texts(released));
    }

    /**
     * From one read of the directory's activity log: the hot extents' bytes (or the whole volume:
     * none, or unreadable), and what a replica must have applied for a power cut now to compare
     * only those (-1: every chunk). Both 0 after a clean close: nothing to compare, every record
     * was forced, and the next open starts a new log.
     */
    private static long[] crashCompare(Path dir, boolean writeOnce) {
        if (java.nio.file.Files.exists(dir.resolve(CaptureBuffer.CLEAN_SHUTDOWN_FILE))) {
            return new long[] {0, 0};
        }
        try {
            ActivityLog.Recovered hot = ActivityLog.read(dir);
            if (hot == null || !hot.readable()) {
                return new long[] {BufferStatus.WHOLE_VOLUME, -1};
            }
            return new long[] {ActivityLog.compareBytesAfterCrash(hot.hotBytes(), hot.extentBytes(), writeOnce),
                    hot.coldThrough() < 0 ? -1
                    : Math.max(hot.coldThrough(), ChangedChunks.readSinceSequence(dir))};
        } catch (IOException e) {
            return new long[] {BufferStatus.WHOLE_VOLUME, -1};
        }
    }

    private static long captureTimeOf(List<Path> files, int headerBytes, long sequence) throws IOException {
        Path holder = null;
        for (Path f : files) {
            if (SegmentNames.baseSequenceOf(f) <= sequence) {
                holder = f;
            }
        }
        if (holder == null) {
            return 0;
        }
        try (FileChannel ch = FileChannel.open(holder, StandardOpenOption.READ)) {
            SegmentScanner.Found found = SegmentScanner.seek(ch, headerBytes, ch.size(), sequence);
            return found.entry() != null && found.entry().sequence() == sequence ? found.entry().captureTimeNanos() : 0;
        }
    }
}
