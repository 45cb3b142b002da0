package io.tapline.log.undo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The named marks of a volume ({@code marks.idx}): name, sequence and capture time of every MARK
 * record applied. Small, so it is rewritten whole on each change (temp file, fsync, rename,
 * directory fsync): after a crash it holds the old or the new list, never a mix. Big-endian.
 *
 * <pre>
 * offset size field
 *  0      4   magic        0x54504D4B ("TPMK")
 *  4      2   version      1
 *  6      2   reserved     0
 *  8      4   count        N
 * 12      ... N entries:   u64 sequence, u64 captureTimeNanos, u16 nameLength, name (UTF-8)
 * end-4   4   crc32c       CRC-32C of every preceding byte
 * </pre>
 *
 * <p>A name may be marked more than once; lookups return the newest. Not thread-safe: the
 * writer is the volume's apply thread; readers use {@link #read}.
 */
public final class MarkIndex {
    public static final String FILE = "marks.idx";
    static final int MAGIC = 0x54504D4B;
    static final int VERSION = 1;
    private static final int MAX_BYTES = 16 << 20;

    /** One mark. */
    public record Mark(String name, long sequence, long captureTimeNanos) {
    }

    private final Path file;
    private final List<Mark> marks;

    private MarkIndex(Path file, List<Mark> marks) {
        this.file = file;
        this.marks = marks;
    }

    /** Reads {@code dir/marks.idx}; an absent file is an empty index. */
    public static MarkIndex read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        List<Mark> marks = new ArrayList<>();
        if (!Files.exists(file)) {
            return new MarkIndex(file, marks);
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < 16 || bytes.length > MAX_BYTES) {
            throw new UndoFormatException("size: " + bytes.length + " (expected: 16.." + MAX_BYTES + ") file=" + file);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != b.getInt(bytes.length - 4)) {
            throw new UndoFormatException(String.format("crc32c: 0x%08x (expected: 0x%08x) file=%s",
                    (int) crc.getValue(), b.getInt(bytes.length - 4), file));
        }
        if (b.getInt(0) != MAGIC) {
            throw new UndoFormatException(String.format("magic: 0x%08x (expected: 0x%08x) file=%s", b.getInt(0),
                    MAGIC, file));
        }
        int version = b.getShort(4) & 0xFFFF;
        if (version != VERSION) {
            throw new UndoFormatException("version: " + version + " (expected: 1..1) file=" + file);
        }
        int count = b.getInt(8);
        b.position(12);
        for (int i = 0; i < count; i++) {
            long seq = b.getLong();
            long time = b.getLong();
            byte[] name = new byte[b.getShort() & 0xFFFF];
            b.get(name);
            marks.add(new Mark(new String(name, StandardCharsets.UTF_8), seq, time));
        }
        return new MarkIndex(file, marks);
    }

    /**
     * An index of {@code marks} for {@code dir} held in memory (a damaged file's replacement, built
     * from another record of the marks); {@link #rewrite} makes it the file.
     */
    public static MarkIndex of(Path dir, List<Mark> marks) {
        return new MarkIndex(dir.resolve(FILE), new ArrayList<>(marks));
    }

    /** Writes the whole index durably (replacing the file). */
    public void rewrite() throws IOException {
        write();
    }

    public List<Mark> marks() {
        return List.copyOf(marks);
    }

    /** The newest mark called {@code name}. */
    public Optional<Mark> find(String name) {
        for (int i = marks.size() - 1; i >= 0; i--) {
            if (marks.get(i).name().equals(name)) {
                return Optional.of(marks.get(i));
            }
        }
        return Optional.empty();
    }

    /** Adds a mark durably; a mark already held for the same sequence is not added twice. */
    public void add(Mark mark) throws IOException {
        for (Mark m : marks) {
            if (m.sequence() == mark.sequence()) {
                return;
            }
        }
        marks.add(mark);
        write();
    }

    /** Drops the marks above {@code sequence} durably (after a rollback); returns how many went. */
    public int dropAbove(long sequence) throws IOException {
        int before = marks.size();
        marks.removeIf(m -> m.sequence() > sequence);
        if (marks.size() != before) {
            write();
        }
        return before - marks.size();
    }

    private void write() throws IOException {
        int size = 16;
        List<byte[]> names = new ArrayList<>();
        for (Mark m : marks) {
            byte[] n = m.name().getBytes(StandardCharsets.UTF_8);
            names.add(n);
            size += 18 + n.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt(marks.size());
        for (int i = 0; i < marks.size(); i++) {
            b.putLong(marks.get(i).sequence()).putLong(marks.get(i).captureTimeNanos())
                    .putShort((short) names.get(i).length).put(names.get(i));
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, size - 4);
        b.putInt((int) crc.getValue()).flip();
        Path tmp = file.resolveSibling(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
