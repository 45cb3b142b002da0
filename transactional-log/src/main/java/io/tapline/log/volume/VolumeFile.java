package io.tapline.log.volume;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A raw volume image (a primary volume behind the wedge, or a replica): byte N of the volume is
 * byte N of the file. Positional reads and writes, zeroing of ranges, and durability.
 *
 * <p>Zeroing punches a hole ({@code fallocate(PUNCH_HOLE|KEEP_SIZE)} through JNA) where the file
 * system supports it and writes zeroes otherwise; either way the range reads back as zeroes, so
 * a primary and its replica stay byte-identical after TRIM and WRITE_ZEROES.
 *
 * <p>Two descriptors: the channel for reads and writes, and a native one for the calls Java lacks
 * and for {@link #readWithoutReadahead}, whose kernel readahead is off.
 *
 * <p>Thread-safe: positional operations may run concurrently; callers order overlapping writes.
 */
public final class VolumeFile implements BlockVolume {
    private static final Logger LOG = LoggerFactory.getLogger(VolumeFile.class);
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final int EINTR = 4;
    private static final int POSIX_FADV_RANDOM = 1;
    private static final int POSIX_FADV_WILLNEED = 3;
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    /** File systems whose {@code SEEK_DATA} counts written pages not yet on disk as data ({@link #holesSeeWrites}). */
    private static final Set<String> SEEK_DATA_SEES_WRITES = Set.of("ext4", "xfs", "btrfs", "tmpfs");

    /**
     * Whether the file system's holes are believed ({@link #holesSeeWrites}): {@code auto} (the
     * default: on the file systems above), {@code trust} (on any, for an operator who has checked
     * that theirs answers right) or {@code ignore} (never: every range is read). Read when an
     * image is opened.
     */
    public static final String SEEK_DATA_PROPERTY = "tapline.volume.seekData";
    private static final Set<String> SEEK_DATA_POLICIES = Set.of("auto", "trust", "ignore");

    /**
     * The largest piece a write is cut into, in bytes, each piece a {@code pwrite} of its own ending
     * at a multiple of the piece size; {@code 0}: one call per write. Read when an image is opened.
     * Why: the kernel caches a buffered write in folios as large as the write (up to 2 MiB here),
     * and on ext4 with large folios (Linux 6.16 on) a 4 KiB write into a cached large folio costs
     * time in proportion to the folio's size: random 4 KiB overwrites of a file just written in
     * 4 MiB pieces ran 4-7x slower than of one written in 256 KiB pieces (docs/benchmarks.md#large-folios).
     * Large writes are how a replica is seeded and a backlog applied, and how hosts write
     * sequentially; the small writes that follow are a database's.
     */
    public static final String WRITE_PIECE_PROPERTY = "tapline.volume.writePieceBytes";
    /** {@link #WRITE_PIECE_PROPERTY}'s default. */
    public static final int DEFAULT_WRITE_PIECE_BYTES = 256 << 10;
    private static final int MAX_WRITE_PIECE_BYTES = 64 << 20;

    private final Path path;
    private final FileChannel channel;
    private final long sizeBytes;
    private final int fd;
    /** {@link #SEEK_DATA_PROPERTY} when the image was opened. */
    private final String seekDataPolicy;
    /** {@link #WRITE_PIECE_PROPERTY} when the image was opened; {@link Long#MAX_VALUE} for no cut. */
    private final long writePieceBytes;
    private volatile boolean punchHoleWorks;
    /** {@link #holesSeeWrites}, learnt at its first call. */
    private volatile Boolean holesSeeWrites;
    private volatile WriteBehind writeBehind;
    private volatile WritebackPacer pacer;
    /** QEMU's image locks on {@link #fd}, null when none were taken. */
    private QemuImageLock qemuLock;
    /** Whether {@link #readWithoutReadahead} reads through the native descriptor (readahead off). */
    private volatile boolean readaheadOff;

    private VolumeFile(Path path, FileChannel channel, long sizeBytes, String seekDataPolicy, int writePieceBytes) {
        this(path, channel, sizeBytes, seekDataPolicy, writePieceBytes, O_RDWR);
    }

    private VolumeFile(Path path, FileChannel channel, long sizeBytes, String seekDataPolicy, int writePieceBytes,
            int nativeFlags) {
        this.seekDataPolicy = seekDataPolicy;
        this.writePieceBytes = writePieceBytes == 0 ? Long.MAX_VALUE : writePieceBytes;
        this.path = path;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
        // A second descriptor on the same file, only for fallocate(2), which Java does not offer.
        this.fd = openNativeDescriptor(path, nativeFlags);
        this.punchHoleWorks = fd >= 0 && nativeFlags == O_RDWR;
    }

    /**
     * Opens an existing image for reading only, beside the process that writes it (a point-in-time
     * image copied while the replayer applies): no QEMU lock is taken and nothing can be written
     * (a write fails with {@link java.nio.channels.NonWritableChannelException}). Its holes
     * ({@link #nextDataOffset}) are believed as for any image ({@link #holesSeeWrites}): on those
     * file systems a write of the other process counts as data once its {@code write} returned.
     */
    public static VolumeFile openForReading(Path path) throws IOException {
        String seekDataPolicy = seekDataPolicy();
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new VolumeFile(path, ch, ch.size(), seekDataPolicy, 0, O_RDONLY);
        } catch (RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Opens the image read-write, creating it sparse at {@code sizeBytes} when missing.
     *
     * @throws VolumeSizeMismatchException when the file exists with another size
     */
    public static VolumeFile openOrCreate(Path path, long sizeBytes) throws IOException {
        return openOrCreate(path, sizeBytes, writePieceBytes());
    }

    /** {@link #openOrCreate(Path, long)} with writes cut into pieces of {@code writePieceBytes} (0: not cut). */
    static VolumeFile openOrCreate(Path path, long sizeBytes, int writePieceBytes) throws IOException {
        Objects.requireNonNull(path, "path");
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("sizeBytes: " + sizeBytes + " (expected: > 0)");
        }
        String seekDataPolicy = seekDataPolicy(); // before the file is made: a wrong value opens nothing
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            long existing = ch.size();
            if (existing == 0) {
                // Sparse: extend by writing the last byte's worth via truncate semantics. The size is
                // made durable at once (file and directory entry): a power cut must never leave a
                // shorter image that a restart would refuse as the wrong size.
                try {
                    ch.write(ByteBuffer.allocate(1), sizeBytes - 1);
                } catch (IOException e) { // EFBIG on ext4 past 16 TiB, say: name the file and the size
                    ch.close();
                    Files.deleteIfExists(path);
                    throw new IOException("image " + path + ": cannot be made " + sizeBytes + " bytes long here ("
                            + e.getMessage() + ")", e);
                }
                ch.force(true);
                io.tapline.log.DurableFiles.syncDirectory(path.toAbsolutePath().getParent());
            } else if (existing != sizeBytes) {
                throw new VolumeSizeMismatchException(path, existing, sizeBytes);
            }
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        VolumeFile v = new VolumeFile(path, ch, sizeBytes, seekDataPolicy, writePieceBytes);
        try {
            v.qemuLock = QemuImageLock.lock(v.fd, path); // QEMU's tools and VMs refuse to write it while open here
        } catch (IOException | RuntimeException e) {
            v.close();
            throw e;
        }
        return v;
    }

    /** Opens an existing image read-write at its current size. */
    public static VolumeFile openExisting(Path path) throws IOException {
        long size = Files.size(path);
        return openOrCreate(path, size);
    }

    public Path path() {
        return path;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    /**
     * Writes all of {@code src} at {@code offsetBytes}, in pieces of at most
     * {@link #WRITE_PIECE_PROPERTY} bytes that end at multiples of that size (so that the page
     * cache keeps no folio larger than a piece). Not atomic, as a single {@code pwrite} is not.
     */
    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        checkRange(offsetBytes, src.remaining());
        long pos = offsetBytes;
        int limit = src.limit();
        try {
            while (src.hasRemaining()) {
                src.limit(src.position() + (int) Math.min(src.remaining(), pieceEnd(pos) - pos));
                while (src.hasRemaining()) {
                    pos += channel.write(src, pos);
                }
                src.limit(limit);
            }
        } finally {
            src.limit(limit);
        }
        paceAfterWrite(offsetBytes, pos - offsetBytes);
    }

    /** Where the write piece holding {@code pos} ends: the next multiple of the piece size ({@link Long#MAX_VALUE} when not cut). */
    private long pieceEnd(long pos) {
        return (pos / writePieceBytes + 1) * writePieceBytes;
    }

    /**
     * {@link #WRITE_PIECE_PROPERTY}, checked: 0 (no cut), or up to 64 MiB in multiples of 4096.
     *
     * @throws IllegalArgumentException naming the property and what it expects (one line)
     */
    public static int writePieceBytes() {
        return (int) io.tapline.log.BoundedProperty.read(WRITE_PIECE_PROPERTY, DEFAULT_WRITE_PIECE_BYTES,
                MAX_WRITE_PIECE_BYTES, 4096, "bytes per pwrite, 0 for one per write");
    }

    /** Checks the image settings read from system properties, so that a wrong one stops a start before anything is opened. */
    public static void checkSettings() {
        seekDataPolicy();
        writePieceBytes();
    }

    /**
     * Sets what happens to the pages this file's writes dirty ({@link PageCachePolicy}).
     * {@link PageCachePolicy#DROPPED}: each write's writeback is started at once
     * ({@code sync_file_range}), and the pages of the write eight writes back are waited for and
     * dropped ({@code posix_fadvise DONTNEED}). {@link PageCachePolicy#PACED}: a write of
     * {@link #PACED_ONE_BY_ONE_BYTES} or more has its writeback started at once, and the oldest
     * are waited for while more than 8 MiB are in flight; smaller writes are counted, and every
     * {@link WritebackPacer#KICK_BYTES} of them a thread of its own starts the writeback of the whole
     * file (one call per small write would cost a fifth of 4 KiB random IOPS:
     * docs/benchmarks.md#primary-paced-default); pages stay cached. Durability is unchanged:
     * {@link #force} still decides it.
     *
     * @return false when the platform lacks the calls (the policy then stays as it was)
     */
    @Override
    public synchronized boolean usePageCachePolicy(PageCachePolicy policy) {
        Objects.requireNonNull(policy, "policy");
        if (policy != PageCachePolicy.KERNEL && fd < 0) {
            return false;
        }
        writeBehind = policy == PageCachePolicy.DROPPED ? WriteBehind.dropping(fd)
                : policy == PageCachePolicy.PACED ? WriteBehind.pacing(fd) : null;
        WritebackPacer old = pacer;
        pacer = policy != PageCachePolicy.PACED ? null : new WritebackPacer(path.getFileName().toString(),
                () -> LibC.INSTANCE.sync_file_range(fd, 0, 0, WriteBehind.SYNC_FILE_RANGE_WRITE));
        if (old != null) {
            old.close();
        }
        return true;
    }

    /** Under {@link PageCachePolicy#PACED}, writes of this size or more are paced one by one. */
    static final int PACED_ONE_BY_ONE_BYTES = 64 << 10;

    /** Hands a completed write to the page-cache policy, if any. */
    private void paceAfterWrite(long offsetBytes, long lengthBytes) {
        WritebackPacer p = pacer;
        WriteBehind w = writeBehind;
        if (p != null && lengthBytes < PACED_ONE_BY_ONE_BYTES) {
            p.written(lengthBytes);
        } else if (w != null) {
            w.written(offsetBytes, lengthBytes);
        }
    }

    /** Writes all of {@code bytes} at {@code offsetBytes}. */
    public void write(long offsetBytes, byte[] bytes) throws IOException {
        write(offsetBytes, ByteBuffer.wrap(bytes));
    }

    /**
     * Whether the file system says {@code [offsetBytes, offsetBytes + lengthBytes)} holds no data:
     * a hole, which reads as zeros ({@code lseek(SEEK_DATA)} through JNA; dirty pages count as
     * data). False when it does not know (no native access, a file system without SEEK_DATA, or
     * one whose answer is not believed: {@link #holesSeeWrites}), so a caller may skip reading a
     * hole but never skips data. Lets a comparison of a sparse volume read only what was written.
     */
    @Override
    public boolean isHole(long offsetBytes, long lengthBytes) {
        checkRange(offsetBytes, lengthBytes);
        return lengthBytes > 0 && nextDataOffset(offsetBytes) >= offsetBytes + lengthBytes;
    }

    /**
     * Whether this image's holes are believed ({@link #isHole}, {@link #nextDataOffset},
     * {@link #nextHoleOffset}): whether the file system's {@code SEEK_DATA} sees every write made
     * so far, on disk or only in the page cache. True on ext4, XFS, btrfs and tmpfs, which count
     * dirty pages as data. False elsewhere (ZFS, for one, may sync a transaction group for each
     * question, and OpenZFS 2.2.0-2.2.1 could report just-written data as a hole) and without
     * native access; then every range counts as data and is read, so that a verify or a resync
     * never takes written data for zeros. {@link #SEEK_DATA_PROPERTY} overrides the file system's
     * type.
     */
    public boolean holesSeeWrites() {
        Boolean known = holesSeeWrites;
        if (known == null) {
            String type = fileSystemType();
            known = fd >= 0 && switch (seekDataPolicy) {
                case "trust" -> true;
                case "ignore" -> false;
                default -> SEEK_DATA_SEES_WRITES.contains(type);
            };
            holesSeeWrites = known;
            if (!known && fd >= 0) {
                LOG.info("image holes not believed path={} fileSystem={} seekData={}: verify, resync and"
                        + " before-images read every range (-D{}=trust if this file system's SEEK_DATA sees"
                        + " unsynced writes)", path, type, seekDataPolicy, SEEK_DATA_PROPERTY);
            }
        }
        return known;
    }

    private String fileSystemType() {
        try {
            return Files.getFileStore(path).type();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * {@link #SEEK_DATA_PROPERTY}'s value ({@code auto} when unset), checked: a server calls it at
     * start, so that a wrong value stops it there rather than at each image it opens.
     *
     * @throws IllegalArgumentException naming the property and the values it takes
     */
    public static String seekDataPolicy() {
        String value = System.getProperty(SEEK_DATA_PROPERTY, "auto");
        if (!SEEK_DATA_POLICIES.contains(value)) {
            throw new IllegalArgumentException("-D" + SEEK_DATA_PROPERTY + "=" + value
                    + ": expected auto, trust or ignore");
        }
        return value;
    }

    /** Fills {@code dst} from {@code offsetBytes}; the range must lie inside the volume. */
    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        checkRange(offsetBytes, dst.remaining());
        long pos = offsetBytes;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                fillPastEnd(dst);
                return;
            }
            pos += n;
        }
    }

    /**
     * From now on {@link #readWithoutReadahead} reads through the native descriptor with the
     * kernel's readahead off ({@code POSIX_FADV_RANDOM} on that descriptor only; the channel's
     * reads keep it). False when the descriptor or the calls are missing (it then reads through
     * the channel, as {@link #read}).
     *
     * <p>Why (docs/benchmarks.md#before-image-readahead): on ext4, a read just past the written
     * end of a sparse image, where readahead grows its window over holes, stalled 20-160 ms at every
     * 8 MiB, and each such read took under 3 ms without readahead. The price: a hole read without
     * readahead caches single-page folios, and writes into them cost more CPU than into the large
     * folios readahead allocates (12 % in the replayer's apply bench when the whole image was first
     * filled that way).
     */
    public boolean turnReadaheadOff() {
        readaheadOff = fd >= 0 && adviseRandom(fd);
        return readaheadOff;
    }

    /**
     * Fills {@code dst} from {@code offsetBytes}, as {@link #read} does; after
     * {@link #turnReadaheadOff}, through the native descriptor without readahead (the page cache
     * is the same). For a reader that reads each range just before it is written (the replayer's
     * before-images). A heap buffer is always read through the channel.
     */
    public void readWithoutReadahead(long offsetBytes, ByteBuffer dst) throws IOException {
        if (!readaheadOff || !dst.isDirect()) {
            read(offsetBytes, dst);
            return;
        }
        checkRange(offsetBytes, dst.remaining());
        Pointer base = Native.getDirectBufferPointer(dst);
        long pos = offsetBytes;
        while (dst.hasRemaining()) {
            long n = DirectLibC.pread(fd, base.share(dst.position()), dst.remaining(), pos);
            if (n < 0) {
                int errno = Native.getLastError();
                if (errno == EINTR) {
                    continue;
                }
                throw new IOException("read of " + path + " at offset " + pos + " failed: "
                        + new LastErrorException(errno).getMessage());
            }
            if (n == 0) {
                fillPastEnd(dst);
                return;
            }
            dst.position(dst.position() + (int) n);
            pos += n;
        }
    }

    /**
     * Asks the kernel to start reading {@code [offsetBytes, offsetBytes + lengthBytes)} into the
     * page cache and returns without waiting ({@code POSIX_FADV_WILLNEED} on the native descriptor:
     * after {@link #turnReadaheadOff}, into single-page folios). A hint: nothing happens where the
     * call is missing or fails, and a later read is correct either way.
     */
    public void prefetch(long offsetBytes, long lengthBytes) {
        if (fd >= 0 && lengthBytes > 0 && DirectLibC.LINKED) {
            DirectLibC.posix_fadvise(fd, offsetBytes, lengthBytes, POSIX_FADV_WILLNEED);
        }
    }

    /** The most a scan's read asks the kernel to read ahead of it ({@link #readForScan}). */
    static final long SCAN_PREFETCH_BYTES = 4 << 20;
    /** Largest piece of a heap buffer's scan read staged in direct memory at a time. */
    private static final int SCAN_STAGING_BYTES = 1 << 20;
    /** Per thread: the direct staging of {@link #readForScan} into a heap buffer. */
    private static final ThreadLocal<ByteBuffer> SCAN_STAGING =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(SCAN_STAGING_BYTES));

    /**
     * A scan's read ({@link BlockVolume#readForScan}): through the native descriptor with the
     * kernel's readahead off ({@link #turnReadaheadOff}, done at the first), a heap buffer staged
     * through direct memory 1 MiB at a time. So that the disk still works ahead of the scan, the
     * range after this one (as long, at most {@link #SCAN_PREFETCH_BYTES}) is asked for first
     * ({@code POSIX_FADV_WILLNEED}, which reads into small folios and does not wait). Measured
     * (docs/benchmarks.md#large-folios): random 4 KiB overwrites of a file after a scan of it 2.72 s
     * against 15.02 s after a scan with readahead.
     */
    @Override
    public void readForScan(long offsetBytes, ByteBuffer dst) throws IOException {
        if (!readaheadOff && !turnReadaheadOff()) {
            read(offsetBytes, dst);
            return;
        }
        long next = offsetBytes + dst.remaining();
        long ahead = Math.min(Math.min(dst.remaining(), SCAN_PREFETCH_BYTES), sizeBytes - next);
        if (ahead > 0) {
            prefetch(next, ahead);
        }
        if (dst.isDirect()) {
            readWithoutReadahead(offsetBytes, dst);
            return;
        }
        checkRange(offsetBytes, dst.remaining());
        ByteBuffer staging = SCAN_STAGING.get();
        long pos = offsetBytes;
        while (dst.hasRemaining()) {
            staging.clear().limit(Math.min(SCAN_STAGING_BYTES, dst.remaining()));
            readWithoutReadahead(pos, staging);
            pos += staging.flip().remaining();
            dst.put(staging);
        }
    }

    /** Past the physical end of a short file the volume reads as zeroes: fills the rest of {@code dst}. */
    private static void fillPastEnd(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            dst.put((byte) 0);
        }
    }

    /** Makes {@code [offsetBytes, offsetBytes + lengthBytes)} read as zeroes. */
    @Override
    public void zero(long offsetBytes, long lengthBytes, boolean mayDeallocate) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        if (lengthBytes == 0) {
            return;
        }
        if (mayDeallocate && punchHoleWorks && punchHole(offsetBytes, lengthBytes)) {
            return;
        }
        long pos = offsetBytes;
        long end = offsetBytes + lengthBytes;
        while (pos < end) {
            ByteBuffer z = ZEROES.duplicate();
            z.limit((int) Math.min(Math.min(ZERO_CHUNK, end - pos), pieceEnd(pos) - pos));
            while (z.hasRemaining()) {
                pos += channel.write(z, pos);
            }
        }
    }

    /**
     * The first offset at or after {@code offsetBytes} that may hold data ({@code lseek SEEK_DATA}):
     * everything in between is a hole and reads as zeroes. {@link #sizeBytes()} when only holes
     * follow; {@code offsetBytes} itself when the file system cannot tell (no native access,
     * EINVAL) or is not believed ({@link #holesSeeWrites}), so callers read as before.
     */
    public long nextDataOffset(long offsetBytes) {
        checkRange(offsetBytes, 0);
        if (offsetBytes == sizeBytes || !holesSeeWrites()) {
            return offsetBytes;
        }
        try {
            return Math.min(sizeBytes, LibC.INSTANCE.lseek(fd, offsetBytes, SEEK_DATA));
        } catch (LastErrorException e) {
            return e.getErrorCode() == ENXIO ? sizeBytes : offsetBytes;
        } catch (LinkageError e) {
            return offsetBytes;
        }
    }

    /**
     * The first hole at or after {@code offsetBytes} ({@code lseek SEEK_HOLE}); the end of the file
     * counts as one, and is the answer when the file system cannot tell or is not believed.
     */
    public long nextHoleOffset(long offsetBytes) {
        checkRange(offsetBytes, 0);
        if (offsetBytes == sizeBytes || !holesSeeWrites()) {
            return sizeBytes;
        }
        try {
            return Math.min(sizeBytes, LibC.INSTANCE.lseek(fd, offsetBytes, SEEK_HOLE));
        } catch (LastErrorException | LinkageError e) {
            return sizeBytes;
        }
    }

    /** Flushes written data to stable storage (fdatasync). */
    @Override
    public void force() throws IOException {
        channel.force(false);
    }

    @Override
    public void close() throws IOException {
        WritebackPacer p = pacer;
        if (p != null) {
            p.close(); // no kick may run on the descriptor closed below
        }
        if (fd >= 0) {
            try {
                LibC.INSTANCE.close(fd);
            } catch (LastErrorException e) {
                // Nothing was written through this descriptor; the channel below reports real errors.
            }
            if (qemuLock != null) {
                qemuLock.release();
            }
        }
        channel.close();
    }

    private boolean punchHole(long offsetBytes, long lengthBytes) {
        try {
            LibC.INSTANCE.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offsetBytes, lengthBytes);
            return true;
        } catch (LastErrorException | LinkageError e) {
            // EOPNOTSUPP and friends: this file system cannot punch holes; write zeroes from now on.
            punchHoleWorks = false;
            return false;
        }
    }

    private void checkRange(long offsetBytes, long lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes > sizeBytes - lengthBytes) {
            throw new IllegalArgumentException("range: offset " + offsetBytes + " length " + lengthBytes
                    + " (expected: inside volume of " + sizeBytes + " bytes) file=" + path);
        }
    }

    /**
     * Binds the libc calls that image files use now, on the calling thread: JNA's first load takes
     * 0.15-0.3 s (it runs {@code ldconfig -p} and defines a proxy class), which otherwise falls on
     * the first image opened, i.e. on a replayer's first session (docs/benchmarks.md#cold-start).
     * A server calls it once at start on a thread of its own. Never throws: a call that cannot be
     * bound is done without where it is used (zeroes written for a discard, no hole seen, reads
     * with readahead), more slowly.
     *
     * @return whether the calls are bound (false off Linux)
     */
    public static boolean bindNativeCalls() {
        try {
            // Reading the two fields initialises the classes that bind them.
            return Platform.isLinux() && LibC.INSTANCE != null && DirectLibC.LINKED;
        } catch (LinkageError e) {
            return false;
        }
    }

    private static int openNativeDescriptor(Path path, int flags) {
        if (!Platform.isLinux()) {
            return -1;
        }
        try {
            return LibC.INSTANCE.open(path.toAbsolutePath().toString(), flags);
        } catch (LastErrorException | LinkageError e) {
            return -1; // No native access: fall back to writing zeroes.
        }
    }

    /** Turns the descriptor's readahead off; false when the call is missing or refused. */
    private static boolean adviseRandom(int fd) {
        try {
            return LibC.INSTANCE.posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) == 0 && DirectLibC.LINKED;
        } catch (LinkageError e) {
            return false;
        }
    }

    /**
     * {@code pread} directly mapped: one call per before-image range (up to 262,144 per GiB of
     * 4 KiB records), where an interface mapping's proxy costs several microseconds a call.
     */
    private static final class DirectLibC {
        static final boolean LINKED = link();

        private static boolean link() {
            try {
                Native.register(DirectLibC.class, "c");
                return true;
            } catch (LinkageError | RuntimeException e) {
                return false;
            }
        }

        /** Returns the bytes read, or -1 with the error in {@link Native#getLastError()}. */
        static native long pread(int fd, Pointer buf, long count, long offset);

        /** Returns 0, or the error number (one call per small before-image window: {@link #prefetch}). */
        static native int posix_fadvise(int fd, long offset, long len, int advice);
    }

    /** The libc calls Java does not offer (fallocate, lseek with SEEK_DATA/SEEK_HOLE). */
    private interface LibC extends com.sun.jna.Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        int fallocate(int fd, int mode, long offset, long len) throws LastErrorException;

        long lseek(int fd, long offset, int whence) throws LastErrorException;

        int sync_file_range(int fd, long offset, long nbytes, int flags) throws LastErrorException;

        /** Returns an error number (0: done); errno is not set. */
        int posix_fadvise(int fd, long offset, long len, int advice);
    }

    /**
     * The writes whose writeback was started and not yet waited for, oldest first. Each write's
     * writeback is started when it completes; before that, the oldest writes are waited for (and,
     * with {@code drop}, their pages dropped from the cache) until at most {@code maxWrites}
     * writes and {@code maxBytes} bytes stay in flight. A failed call turns the policy off (the
     * writes themselves succeeded, and {@link #force} reports real I/O errors).
     */
    private static final class WriteBehind {
        private static final int SYNC_FILE_RANGE_WAIT_BEFORE = 1;
        private static final int SYNC_FILE_RANGE_WRITE = 2;
        private static final int SYNC_FILE_RANGE_WAIT_AFTER = 4;
        private static final int POSIX_FADV_DONTNEED = 4;

        private final int fd;
        /** Whether a write's pages leave the cache once written ({@link PageCachePolicy#DROPPED}), else stay. */
        private final boolean drop;
        private final long maxBytes;
        private final long[] offsets;
        private final long[] lengths;
        private int oldest;
        private int count;
        private long bytes;
        private boolean broken;

        /** {@link PageCachePolicy#DROPPED}, as nbdkit's {@code cache=none}: eight writes in flight. */
        static WriteBehind dropping(int fd) {
            return new WriteBehind(fd, true, 8, Long.MAX_VALUE);
        }

        /**
         * {@link PageCachePolicy#PACED}, for writes of {@link #PACED_ONE_BY_ONE_BYTES} or more
         * (smaller ones go to the {@link WritebackPacer}): 8 MiB in flight.
         */
        static WriteBehind pacing(int fd) {
            long maxBytes = 8L << 20;
            return new WriteBehind(fd, false, (int) (maxBytes / PACED_ONE_BY_ONE_BYTES), maxBytes);
        }

        private WriteBehind(int fd, boolean drop, int maxWrites, long maxBytes) {
            this.fd = fd;
            this.drop = drop;
            this.maxBytes = maxBytes;
            this.offsets = new long[maxWrites];
            this.lengths = new long[maxWrites];
        }

        synchronized void written(long offset, long length) {
            if (broken || length == 0) {
                return;
            }
            try {
                while (count == lengths.length || (count > 0 && bytes + length > maxBytes)) {
                    LibC.INSTANCE.sync_file_range(fd, offsets[oldest], lengths[oldest],
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
                    if (drop) {
                        LibC.INSTANCE.posix_fadvise(fd, offsets[oldest], lengths[oldest], POSIX_FADV_DONTNEED);
                    }
                    bytes -= lengths[oldest];
                    oldest = (oldest + 1) % lengths.length;
                    count--;
                }
                LibC.INSTANCE.sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
                int next = (oldest + count) % lengths.length;
                offsets[next] = offset;
                lengths[next] = length;
                count++;
                bytes += length;
            } catch (LastErrorException | LinkageError e) {
                broken = true; // EIO here resurfaces at the next fdatasync, which the owner checks.
            }
        }
    }
}
