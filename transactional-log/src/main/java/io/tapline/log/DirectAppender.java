package io.tapline.log;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends large records to one segment file with O_DIRECT: the record is copied into an aligned
 * staging buffer after the bytes of the block it starts in, padded with zeros to a whole block,
 * and written at the block's offset, so the page cache is neither filled nor consulted.
 *
 * <p>Why: measured on this project's machine (docs/benchmarks.md), a buffered write into new
 * page-cache pages runs at ~360 MB/s, the same data with O_DIRECT at ~1.2 GB/s, because every new
 * page is a first touch of guest memory. Appended logs (the capture buffer's segments, the undo
 * log's segments) are written once and read back at most once, so the cache buys nothing.
 *
 * <p>The file then holds zero padding past its last record until the owner cuts it
 * ({@code truncate} to its logical size) when it stops appending; a crash leaves the padding,
 * which the owner's recovery treats as a torn tail. The bytes of a partial block that were
 * written before are rewritten with the same values, so a torn block write never changes them.
 * A file system that refuses O_DIRECT (tmpfs) is remembered per directory and written through
 * the page cache as before.
 *
 * <p>The staging memory is an {@link AlignedStaging} that the log's writer shares among its
 * segments' appenders.
 *
 * <p>Not thread-safe: used by the file's writer only.
 */
public final class DirectAppender implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(DirectAppender.class);
    private static final Set<Path> REFUSED = ConcurrentHashMap.newKeySet();
    /** Padding source: less than one block (at most 64 KiB) is ever padded. */
    private static final byte[] ZEROS = new byte[1 << 16];

    private final FileChannel channel;
    private final int blockBytes;
    private final byte[] tail;
    private final AlignedStaging staging;
    private long tailEndsAt = -1;
    private boolean wrote;

    private DirectAppender(FileChannel channel, int blockBytes, AlignedStaging staging) {
        this.channel = channel;
        this.blockBytes = blockBytes;
        this.tail = new byte[blockBytes];
        this.staging = staging;
    }

    /** Whether O_DIRECT was refused in this file's directory before. */
    public static boolean refused(Path file) {
        return REFUSED.contains(file.toAbsolutePath().getParent());
    }

    /** {@link #open(Path, AlignedStaging)} with staging memory of its own. */
    public static DirectAppender open(Path file) {
        return open(file, new AlignedStaging());
    }

    /**
     * Opens a direct channel on the file, staging its writes in {@code staging}, or returns null
     * (and remembers why) when refused.
     */
    public static DirectAppender open(Path file, AlignedStaging staging) {
        try {
            int block = blockBytes(file);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
            return new DirectAppender(ch, block, Objects.requireNonNull(staging, "staging"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            refuse(file, e);
            return null;
        }
    }

    /** Remembers that direct appends fail in this file's directory. */
    public static void refuse(Path file, Exception why) {
        if (REFUSED.add(file.toAbsolutePath().getParent())) {
            LOG.info("appends go through the page cache in {}: O_DIRECT refused ({})",
                    file.toAbsolutePath().getParent(), why.toString());
        }
    }

    private static int blockBytes(Path file) {
        try {
            long block = Files.getFileStore(file).getBlockSize();
            if (block >= 512 && block <= (1 << 16) && Long.bitCount(block) == 1) {
                return (int) block;
            }
        } catch (IOException | UnsupportedOperationException e) {
            // The common block size below serves every device with 512- or 4096-byte sectors.
        }
        return 4096;
    }

    /**
     * Writes {@code record} so that it starts at {@code at}: the bytes before it in its first
     * block are taken from the previous direct append, else read through {@code buffered}. The
     * record buffers are consumed, as a gathering write would.
     *
     * @return where the write ended in the file: the record's end rounded up to a block (the
     *         zero padding after it is the caller's to cut)
     */
    public long append(FileChannel buffered, long at, ByteBuffer[] record) throws IOException {
        long blockStart = at - (at % blockBytes);
        int head = (int) (at - blockStart);
        long recordBytes = 0;
        for (ByteBuffer b : record) {
            recordBytes += b.remaining();
        }
        long total = head + recordBytes;
        long padded = (total + blockBytes - 1) / blockBytes * blockBytes;
        synchronized (staging) {
            write(buffered, at, record, blockStart, head, recordBytes, total,
                    staging.atLeast(Math.toIntExact(padded)).limit(Math.toIntExact(padded)));
        }
        return blockStart + padded;
    }

    private void write(FileChannel buffered, long at, ByteBuffer[] record, long blockStart, int head,
            long recordBytes, long total, ByteBuffer buf) throws IOException {
        int padded = buf.limit();
        if (head > 0) {
            if (tailEndsAt == at) {
                buf.put(tail, 0, head);
            } else {
                buf.limit(head);
                while (buf.hasRemaining()) {
                    if (buffered.read(buf, blockStart + buf.position()) < 0) {
                        throw new IOException("segment shorter than its published size: " + at);
                    }
                }
                buf.limit(padded);
            }
        }
        for (ByteBuffer b : record) {
            buf.put(b);
        }
        buf.put(ZEROS, 0, padded - buf.position());
        buf.flip();
        long written = 0;
        while (buf.hasRemaining()) {
            written += channel.write(buf, blockStart + written);
        }
        wrote = true;
        int tailBytes = (int) (total % blockBytes);
        buf.get(padded - blockBytes, tail, 0, tailBytes);
        tailEndsAt = tailBytes == 0 ? -1 : at + recordBytes;
    }

    /** Whether a direct write has succeeded: a later failure is an I/O error, not a refusal. */
    public boolean wrote() {
        return wrote;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
