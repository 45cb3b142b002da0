package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Remotes the buffer stopped keeping records for ({@link CaptureBuffer#releaseRemote}): a remote
 * down so long that its cursor alone held the buffer FULL while other remotes waited. Its cursor
 * was moved past records it never acknowledged; what it really acknowledged is kept here, in
 * {@code remote-<id>.released} beside its cursor (one line: {@code acknowledged released-at
 * epoch-millis why}), so that status never reports those records as applied on its replica.
 * The file goes once the remote acknowledges past the release (its replica caught up from the
 * records still held, or from a full resync) or its cursor is rewound to its replica's truth.
 *
 * <p>Written durably before the cursor moves: a crash between the two leaves a marker whose
 * cursor did not move yet, which says no more than the truth. Thread-safety: the buffer's.
 */
final class ReleasedRemotes {
    static final String SUFFIX = ".released";

    /** One release: the remote had acknowledged {@code acknowledged}; its cursor was moved to {@code releasedAt}. */
    record Release(long acknowledged, long releasedAt, long millis, String why) {
        /** Status's words for it. */
        String text() {
            return "released at " + java.time.Instant.ofEpochMilli(millis) + ": records " + (acknowledged + 1) + ".."
                    + releasedAt + " dropped for it (" + why + "); its replica is resynced when it returns";
        }
    }

    private ReleasedRemotes() {
    }

    static Path file(Path dir, String remoteId) {
        return dir.resolve(SegmentNames.CURSOR_PREFIX + remoteId + SUFFIX);
    }

    /** Records the release of {@code remoteId} durably (before its cursor moves). */
    static void write(Path dir, String remoteId, Release r) throws IOException {
        String line = r.acknowledged() + " " + r.releasedAt() + " " + r.millis() + " "
                + r.why().replace('\n', ' ') + "\n";
        DurableFiles.replace(file(dir, remoteId), line.getBytes(StandardCharsets.UTF_8));
    }

    /** The release of {@code remoteId}, or null. */
    static Release read(Path dir, String remoteId) throws IOException {
        Path f = file(dir, remoteId);
        return Files.exists(f) ? parse(f) : null;
    }

    /** Ends {@code remoteId}'s release: its cursor tells its replica's truth again. */
    static void clear(Path dir, String remoteId) throws IOException {
        if (Files.deleteIfExists(file(dir, remoteId))) {
            DurableFiles.syncDirectory(dir);
        }
    }

    /** Every release in {@code dir}, by remote id. */
    static Map<String, Release> readAll(Path dir) throws IOException {
        Map<String, Release> out = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir,
                SegmentNames.CURSOR_PREFIX + "*" + SUFFIX)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                out.put(name.substring(SegmentNames.CURSOR_PREFIX.length(), name.length() - SUFFIX.length()), parse(f));
            }
        }
        return out;
    }

    /** {@code acknowledged} with each released remote's real acknowledgment in place of its moved cursor. */
    static Map<String, Long> truthOf(Map<String, Long> acknowledged, Map<String, Release> released) {
        if (released.isEmpty()) {
            return acknowledged;
        }
        Map<String, Long> out = new TreeMap<>(acknowledged);
        released.forEach((remote, r) -> out.computeIfPresent(remote, (k, v) -> Math.min(v, r.acknowledged())));
        return out;
    }

    /** Status's text per released remote. */
    static Map<String, String> texts(Map<String, Release> released) {
        if (released.isEmpty()) {
            return Map.of(); // every status() asks: no map made while no remote is released
        }
        Map<String, String> out = new TreeMap<>();
        released.forEach((remote, r) -> out.put(remote, r.text()));
        return out;
    }

    private static Release parse(Path f) throws IOException {
        String line = Files.readString(f, StandardCharsets.UTF_8).strip();
        String[] parts = line.split(" ", 4);
        try {
            return new Release(Long.parseLong(parts[0]), Long.parseLong(parts[1]), Long.parseLong(parts[2]),
                    parts.length > 3 ? parts[3] : "");
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // Damaged: say the remote acknowledged nothing, which is never more than the truth.
            return new Release(0, 0, 0, "its release record " + f.getFileName() + " is damaged");
        }
    }
}
