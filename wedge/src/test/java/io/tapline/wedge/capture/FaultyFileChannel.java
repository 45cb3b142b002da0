package io.tapline.wedge.capture;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Fault injection at the source's file boundary, for tests: a {@link FileChannel} that passes
 * everything to the real one unless a fault is set: EIO on every write or on fsync, or ENOSPC
 * once a write would reach a byte offset (the part below it is written, as a short write, then
 * the next write fails). {@link #install} puts it in place of the channel field of a
 * {@code VolumeFile} or a capture segment. Faults are volatile: set and cleared from the test
 * thread while the sequencer threads write.
 */
final class FaultyFileChannel extends FileChannel {
    static final String EIO = "Input/output error";
    static final String ENOSPC = "No space left on device";

    private final FileChannel real;
    volatile boolean failWrites;
    volatile boolean failForce;
    /** Writes reaching this file offset fail with ENOSPC; {@code Long.MAX_VALUE}: no limit. */
    volatile long spaceEndsAtByte = Long.MAX_VALUE;

    private FaultyFileChannel(FileChannel real) {
        this.real = real;
    }

    /** Replaces {@code owner}'s FileChannel field {@code fieldName} with a faulty wrapper of it. */
    static FaultyFileChannel install(Object owner, String fieldName) throws ReflectiveOperationException {
        Field f = owner.getClass().getDeclaredField(fieldName);
        f.setAccessible(true);
        FaultyFileChannel faulty = new FaultyFileChannel((FileChannel) f.get(owner));
        f.set(owner, faulty);
        return faulty;
    }

    /** A private field's value, for reaching the channel of a buffer's active segment. */
    static Object field(Object owner, String fieldName) throws ReflectiveOperationException {
        Field f = owner.getClass().getDeclaredField(fieldName);
        f.setAccessible(true);
        return f.get(owner);
    }

    void clear() {
        failWrites = false;
        failForce = false;
        spaceEndsAtByte = Long.MAX_VALUE;
    }

    private long room(long position, long wanted) throws IOException {
        if (failWrites) {
            throw new IOException(EIO);
        }
        long room = spaceEndsAtByte - position;
        if (room <= 0 && wanted > 0) {
            throw new IOException(ENOSPC);
        }
        return Math.min(room, wanted);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        long room = room(position, src.remaining());
        if (room >= src.remaining()) {
            return real.write(src, position);
        }
        ByteBuffer part = src.duplicate();
        part.limit(part.position() + (int) room);
        int n = real.write(part, position);
        src.position(src.position() + n);
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        int n = write(src, real.position());
        real.position(real.position() + n);
        return n;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            if (!srcs[i].hasRemaining()) {
                continue;
            }
            int want = srcs[i].remaining();
            int n = write(srcs[i]);
            total += n;
            if (n < want) {
                break;
            }
        }
        return total;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        if (failForce) {
            throw new IOException(EIO);
        }
        real.force(metaData);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return real.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return real.read(dsts, offset, length);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return real.read(dst, position);
    }

    @Override
    public long position() throws IOException {
        return real.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        real.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return real.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        real.truncate(size);
        return this;
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return real.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        room(position, count);
        return real.transferFrom(src, position, count);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        return real.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return real.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return real.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        real.close();
    }
}
