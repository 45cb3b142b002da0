package io.tapline.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where a replica's consumer resumes on its topic: {@code kafka.position} in the volume's
 * directory, next to {@code applied.state}, one line {@code <appliedSequence> <nextOffset> <bufferIdHex>}
 * (the last field since records carry the buffer id; a line without it reads as buffer id 0).
 *
 * <p>A hint, like the group's committed offsets: it is written after {@code applied.state}, so it
 * is never ahead of the replica (a crash in between leaves an older offset, and the records
 * between are read again and skipped by sequence). When the replica is behind the sequence it
 * names (a rollback), the consumer starts from the topic's beginning instead. Not fsynced.
 *
 * <p>The buffer id is the capture buffer whose records the replica applied ({@link ReplicaFeed}
 * refuses another's); 0 while none that carried one was applied.
 *
 * @param appliedSequence the replica's last applied sequence when written
 * @param nextOffset      the offset of the first record after it
 * @param bufferId        the id of the capture buffer the replica applied records of, or 0
 */
record KafkaPosition(long appliedSequence, long nextOffset, long bufferId) {
    static final String FILE = "kafka.position";

    /** A position without a buffer id. */
    KafkaPosition(long appliedSequence, long nextOffset) {
        this(appliedSequence, nextOffset, 0);
    }

    /** The position stored in {@code volumeDir}, or null when none (or unreadable: a hint only). */
    static KafkaPosition read(Path volumeDir) {
        try {
            String[] f = Files.readString(volumeDir.resolve(FILE), StandardCharsets.US_ASCII).trim().split(" ");
            return new KafkaPosition(Long.parseLong(f[0]), Long.parseLong(f[1]),
                    f.length > 2 ? Long.parseUnsignedLong(f[2], 16) : 0);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Replaces the file (temp file + rename). */
    void write(Path volumeDir) throws IOException {
        Path tmp = volumeDir.resolve(FILE + ".tmp");
        Files.writeString(tmp, appliedSequence + " " + nextOffset + " " + Long.toHexString(bufferId) + "\n",
                StandardCharsets.US_ASCII);
        Files.move(tmp, volumeDir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
