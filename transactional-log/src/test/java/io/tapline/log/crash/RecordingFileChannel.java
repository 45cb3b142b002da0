package io.tapline.log.crash;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/** A file channel that records its writes, truncates and forces in a {@link FileOpTrace}. */
final class RecordingFileChannel extends FileChannel {
    private final FileChannel delegate;
    private final FileOpTrace trace;
    /** The file's inode, or -1 for a directory opened to be forced. */
    private final int inode;
    private final String path;
    private final boolean append;

    RecordingFileChannel(FileChannel delegate, FileOpTrace trace, int inode, String path, boolean append) {
        this.delegate = delegate;
        this.trace = trace;
        this.inode = inode;
        this.path = path;
        this.append = append;
    }

    private void recordWrite(long position, ByteBuffer written, int n) {
        if (n > 0) {
            byte[] bytes = new byte[n];
            written.get(bytes);
            trace.add(new FileOp.Write(inode, position, bytes));
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return delegate.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return delegate.read(dsts, offset, length);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        synchronized (delegate) {
            long position = append ? delegate.size() : delegate.position();
            ByteBuffer copy = src.duplicate();
            int n = delegate.write(src);
            recordWrite(position, copy, n);
            return n;
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        synchronized (delegate) {
            long position = append ? delegate.size() : delegate.position();
            int total = 0;
            for (int i = offset; i < offset + length; i++) {
                total += srcs[i].remaining();
            }
            ByteBuffer copy = ByteBuffer.allocate(total);
            for (int i = offset; i < offset + length; i++) {
                copy.put(srcs[i].duplicate());
            }
            copy.flip();
            long n = delegate.write(srcs, offset, length);
            recordWrite(position, copy, (int) n);
            return n;
        }
    }

    @Override
    public long position() throws IOException {
        return delegate.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        delegate.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return delegate.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        synchronized (delegate) {
            boolean shrinks = size < delegate.size();
            delegate.truncate(size);
            if (shrinks) {
                trace.add(new FileOp.Truncate(inode, size));
            }
            return this;
        }
    }

    @Override
    public void force(boolean metaData) throws IOException {
        delegate.force(metaData);
        trace.add(inode < 0 ? new FileOp.SyncDir(path) : new FileOp.SyncFile(inode));
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return delegate.transferTo(position, count, target);
    }

    /** Recorded as the write it is: read from {@code src}, then written at {@code position}. */
    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, 1 << 20));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = src.read(buf);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                done += write(buf, position + done);
            }
        }
        return done;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return delegate.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        synchronized (delegate) {
            ByteBuffer copy = src.duplicate();
            int n = delegate.write(src, position);
            recordWrite(position, copy, n);
            return n;
        }
    }

    /**
     * Refused: stores through a mapping reach the file without a system call, so no trace could
     * show them (no code under exploration maps its files).
     */
    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
        throw new UnsupportedOperationException("map: stores through a mapping cannot be recorded");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return delegate.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return delegate.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        delegate.close();
    }
}
