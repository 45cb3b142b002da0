package io.tapline.log.buffer;

import io.tapline.log.CaptureRecord;
import io.tapline.log.DurableFiles;
import io.tapline.log.RecordCodec;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A standalone file of capture records in the buffer's own segment format: the
 * {@link SegmentHeader} (magic "TLSG", version, first sequence, volume, CRC-32C), then each record
 * exactly as {@link RecordCodec} encodes it (its own CRC-32C), in dense sequence order. Written by
 * {@code tapline audit export --kafka --out FILE}; the layout is {@code docs/formats.md}'s segment
 * table, so a reader of segments reads it.
 *
 * <p>Durability: records go to {@code FILE.tmp}; {@link #commit} fsyncs it, renames it over
 * {@code FILE} and fsyncs the directory; {@link #close} without a commit deletes the temp file,
 * so {@code FILE} is either the old one or complete. Not thread-safe: one writer.
 */
public final class SegmentExport implements Closeable {
    private final Path target;
    private final Path temp;
    private final String volumeId;
    private final FileChannel ch;
    private long nextSequence;
    private long position;
    private boolean committed;

    private SegmentExport(Path target, Path temp, String volumeId, FileChannel ch, long baseSequence, long position) {
        this.target = target;
        this.temp = temp;
        this.volumeId = volumeId;
        this.ch = ch;
        this.nextSequence = baseSequence;
        this.position = position;
    }

    /** Starts an export to {@code target} whose first record will be {@code baseSequence}. */
    public static SegmentExport create(Path target, long baseSequence, String volumeId) throws IOException {
        SegmentHeader header = new SegmentHeader(baseSequence, volumeId);
        Path temp = target.resolveSibling(target.getFileName() + DurableFiles.TEMP_SUFFIX);
        FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        try {
            DurableFiles.writeFully(ch, header.encode(), 0);
        } catch (IOException e) {
            ch.close();
            Files.deleteIfExists(temp);
            throw e;
        }
        return new SegmentExport(target, temp, volumeId, ch, baseSequence, header.sizeBytes());
    }

    /**
     * Appends the next record.
     *
     * @throws IllegalArgumentException when it is not the next sequence or not of this volume
     */
    public void append(CaptureRecord r) throws IOException {
        if (r.sequence() != nextSequence) {
            throw new IllegalArgumentException("sequence: " + r.sequence() + " (expected: " + nextSequence
                    + ", dense)");
        }
        if (!r.volumeId().equals(volumeId)) {
            throw new IllegalArgumentException("volume: " + r.volumeId() + " (expected: " + volumeId + ")");
        }
        ByteBuffer buf = ByteBuffer.wrap(RecordCodec.encode(r));
        int n = buf.remaining();
        DurableFiles.writeFully(ch, buf, position);
        position += n;
        nextSequence++;
    }

    /** Records appended so far. */
    public long lastSequence() {
        return nextSequence - 1;
    }

    /** Makes the file durable and puts it in place of {@code target}. */
    public void commit() throws IOException {
        ch.force(true);
        ch.close();
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        DurableFiles.syncDirectory(target.toAbsolutePath().getParent());
        committed = true;
    }

    @Override
    public void close() throws IOException {
        if (!committed) {
            ch.close();
            Files.deleteIfExists(temp);
        }
    }
}
