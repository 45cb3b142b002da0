package io.tapline.log.buffer;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Names of the files in a buffer directory: {@code 00000000000000000001.seg} (a segment named
 * by its base sequence, 20 digits), {@code remote-ID.cursor}, {@code buffer.state}.
 *
 * <p>Stateless and thread-safe.
 */
final class SegmentNames {
    static final String SEGMENT_SUFFIX = ".seg";
    static final String STATE_FILE = "buffer.state";
    static final String CURSOR_PREFIX = "remote-";
    static final String CURSOR_SUFFIX = ".cursor";

    private SegmentNames() {
    }

    /** The file name of the segment starting at {@code baseSequence}. */
    static String segmentName(long baseSequence) {
        return String.format("%020d%s", baseSequence, SEGMENT_SUFFIX);
    }

    /** The base sequence a segment file name stands for, or -1 when it is not a segment name. */
    static long baseSequenceOf(Path file) {
        String name = file.getFileName().toString();
        if (name.length() != 20 + SEGMENT_SUFFIX.length() || !name.endsWith(SEGMENT_SUFFIX)) {
            return -1;
        }
        for (int i = 0; i < 20; i++) {
            if (!Character.isDigit(name.charAt(i))) {
                return -1;
            }
        }
        return Long.parseLong(name.substring(0, 20));
    }

    /** The segment files of {@code dir}, oldest first. */
    static List<Path> listSegments(Path dir) throws IOException {
        List<Path> segments = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SEGMENT_SUFFIX)) {
            for (Path f : files) {
                if (baseSequenceOf(f) >= 1) {
                    segments.add(f);
                }
            }
        }
        segments.sort(Comparator.comparingLong(SegmentNames::baseSequenceOf));
        return segments;
    }

    /** The cursor file of {@code remoteId}. */
    static Path cursorFile(Path dir, String remoteId) {
        return dir.resolve(CURSOR_PREFIX + remoteId + CURSOR_SUFFIX);
    }

    /** The cursor files of {@code dir}. */
    static List<Path> listCursors(Path dir) throws IOException {
        List<Path> cursors = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, CURSOR_PREFIX + "*" + CURSOR_SUFFIX)) {
            files.forEach(cursors::add);
        }
        cursors.sort(Comparator.naturalOrder());
        return cursors;
    }

    /** Checks a remote id: 1..64 of {@code A-Z a-z 0-9 . _ -}, not starting with a dot. */
    static String checkRemoteId(String remoteId) {
        if (remoteId == null || !remoteId.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("remoteId: " + remoteId
                    + " (expected: 1..64 of A-Z a-z 0-9 . _ -, not starting with a dot)");
        }
        return remoteId;
    }
}
