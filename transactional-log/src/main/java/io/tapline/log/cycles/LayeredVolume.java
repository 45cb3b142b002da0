package io.tapline.log.cycles;

import io.tapline.log.DurableFiles;
import io.tapline.log.volume.BlockVolume;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A volume in cycle mode: a base image with redirect-on-write layers above it. The host's writes
 * go to the <b>active</b> layer; when a cycle starts the active layer is {@link #freeze frozen} (it
 * never changes again) and a new one takes the writes, while the frozen image (base + frozen
 * layer) is copied to the remotes; once copied, the frozen layer is {@link #mergeFrozen merged}
 * into the base and deleted. At most one layer is frozen at a time.
 *
 * <h2>Files</h2>
 * Beside the base image {@code VOLUME}: {@code VOLUME.cycle-K.aux} (the layer's data, sparse,
 * block N at byte N x 4096) and {@code VOLUME.cycle-K.table} (its {@link FreezeTable}). The table
 * is the authority: an {@code .aux} without its table is left over from a crash and deleted. On
 * open the highest-numbered layer is active and the one below it, if any, frozen (its copy is
 * pending again); older ones cannot exist (a freeze needs no frozen layer).
 *
 * <h2>Reads and writes</h2>
 * A read takes each 4 KiB block from the newest layer holding it, else the base. A write to a
 * block the active layer does not hold yet copies the block up first when the write covers it only
 * in part, then writes and records the blocks. {@link #force} makes the active layer's data durable
 * and then its table, so a block named in a table always has its data on disk.
 *
 * <p>Thread-safe. Writes and zeroing come from one writer (the wedge's sequencer); {@link #freeze}
 * must run where no write is in flight (the sequencer's quiescent point).
 */
public final class LayeredVolume implements BlockVolume {
    /** The unit of redirect-on-write. */
    public static final int BLOCK_BYTES = 4096;
    private static final Pattern LAYER = Pattern.compile("\\.cycle-(\\d+)\\.(aux|table)$");

    private final Path basePath;
    private final VolumeFile base;
    private final long sizeBytes;
    private final ReentrantReadWriteLock swap = new ReentrantReadWriteLock();
    private volatile Layers layers;
    private volatile Runnable firstWriteListener = () -> { };

    /** One auxiliary layer: its data file and its table. */
    record Layer(long cycle, VolumeFile data, FreezeTable table) {
        void close() throws IOException {
            try {
                table.close();
            } finally {
                data.close();
            }
        }
    }

    /** The layers at one instant: the active one and, while a copy is pending, the frozen one. */
    private record Layers(Layer active, Layer frozen, long frozenAtMillis) {
    }

    private LayeredVolume(Path basePath, VolumeFile base, Layers layers) {
        this.basePath = basePath;
        this.base = base;
        this.sizeBytes = base.sizeBytes();
        this.layers = layers;
    }

    /**
     * Opens the base image (creating it sparse when missing) and its layers; creates the first
     * active layer when there is none.
     *
     * @throws IOException when a table is not readable, or more than two layers are found
     */
    public static LayeredVolume open(Path basePath, long sizeBytes) throws IOException {
        VolumeFile base = VolumeFile.openOrCreate(basePath, sizeBytes);
        List<Layer> opened = new ArrayList<>();
        try {
            TreeMap<Long, Path> tables = scan(basePath);
            if (tables.size() > 2) {
                throw new IOException(basePath + ": " + tables.size() + " cycle layers " + tables.keySet()
                        + " (expected: at most a frozen and an active one)");
            }
            for (var e : tables.entrySet()) {
                opened.add(openLayer(basePath, e.getKey(), sizeBytes));
            }
            Layers layers;
            if (opened.isEmpty()) {
                layers = new Layers(createLayer(basePath, 1, sizeBytes, System.currentTimeMillis()), null, 0);
            } else if (opened.size() == 1) {
                layers = new Layers(opened.get(0), null, 0);
            } else {
                long at = opened.get(1).table().createdAtMillis(); // the freeze made the active layer's table
                layers = new Layers(opened.get(1), opened.get(0), at != 0 ? at
                        : Files.getLastModifiedTime(opened.get(1).table().path()).toMillis());
            }
            return new LayeredVolume(basePath, base, layers);
        } catch (IOException | RuntimeException e) {
            for (Layer l : opened) {
                l.close();
            }
            base.close();
            throw e;
        }
    }

    /** Tables beside {@code basePath} by cycle; deletes data files without a table and temporary files. */
    private static TreeMap<Long, Path> scan(Path basePath) throws IOException {
        TreeMap<Long, Path> tables = new TreeMap<>();
        List<Path> auxes = new ArrayList<>();
        Path dir = basePath.toAbsolutePath().getParent();
        String prefix = basePath.getFileName().toString();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, prefix + ".cycle-*")) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (name.endsWith(DurableFiles.TEMP_SUFFIX)) {
                    Files.deleteIfExists(p); // a table whose creation did not finish
                    continue;
                }
                Matcher m = LAYER.matcher(name.substring(prefix.length()));
                if (!m.matches()) {
                    continue;
                }
                if (m.group(2).equals("table")) {
                    tables.put(Long.parseLong(m.group(1)), p);
                } else {
                    auxes.add(p);
                }
            }
        }
        for (Path aux : auxes) {
            String name = aux.getFileName().toString();
            Path table = aux.resolveSibling(name.substring(0, name.length() - "aux".length()) + "table");
            if (!Files.exists(table)) {
                Files.deleteIfExists(aux); // created by a freeze that did not finish
            }
        }
        return tables;
    }

    static Path dataPath(Path basePath, long cycle) {
        return basePath.resolveSibling(basePath.getFileName() + ".cycle-" + cycle + ".aux");
    }

    static Path tablePath(Path basePath, long cycle) {
        return basePath.resolveSibling(basePath.getFileName() + ".cycle-" + cycle + ".table");
    }

    private static Layer openLayer(Path basePath, long cycle, long sizeBytes) throws IOException {
        Path data = dataPath(basePath, cycle);
        if (!Files.exists(data)) {
            throw new IOException(data + ": missing (its table " + tablePath(basePath, cycle) + " is there)");
        }
        FreezeTable table = FreezeTable.open(tablePath(basePath, cycle), BLOCK_BYTES, sizeBytes);
        try {
            return new Layer(cycle, VolumeFile.openExisting(data), table);
        } catch (IOException | RuntimeException e) {
            table.close();
            throw e;
        }
    }

    /** The data file first (made durable with its directory entry), then the table: the table names a layer that exists. */
    private static Layer createLayer(Path basePath, long cycle, long sizeBytes, long atMillis) throws IOException {
        Path data = dataPath(basePath, cycle);
        VolumeFile file = VolumeFile.openOrCreate(data, sizeBytes);
        try {
            file.force();
            DurableFiles.syncDirectory(basePath.toAbsolutePath().getParent());
            return new Layer(cycle, file, FreezeTable.create(tablePath(basePath, cycle), cycle, BLOCK_BYTES, sizeBytes,
                    atMillis));
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    /** The base image's path. */
    public Path basePath() {
        return basePath;
    }

    /** The cycle the active layer takes the writes of. */
    public long activeCycle() {
        return layers.active().cycle();
    }

    /** Blocks written since the last freeze (the active layer's). */
    public long activeBlocks() {
        return layers.active().table().count();
    }

    /** The frozen image waiting to be copied, or null when none is. */
    public FrozenImage frozen() {
        Layers l = layers;
        return l.frozen() == null ? null : new FrozenImage(this, l.frozen(), l.frozenAtMillis());
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        checkRange(offsetBytes, dst.remaining());
        swap.readLock().lock();
        try {
            Layers l = layers;
            readThrough(l.active(), l.frozen(), offsetBytes, dst);
        } finally {
            swap.readLock().unlock();
        }
    }

    /** Reads from {@code top}, then {@code below} (may be null), then the base, block by block. */
    void readThrough(Layer top, Layer below, long offsetBytes, ByteBuffer dst) throws IOException {
        long pos = offsetBytes;
        while (dst.hasRemaining()) {
            long block = pos / BLOCK_BYTES;
            BlockVolume source = sourceOf(top, below, block);
            long runEnd = (block + 1) * (long) BLOCK_BYTES;
            long limit = pos + dst.remaining();
            while (runEnd < limit && sourceOf(top, below, runEnd / BLOCK_BYTES) == source) {
                runEnd += BLOCK_BYTES;
            }
            int n = (int) (Math.min(runEnd, limit) - pos);
            ByteBuffer slice = dst.slice(dst.position(), n);
            source.read(pos, slice);
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    private BlockVolume sourceOf(Layer top, Layer below, long block) {
        if (top != null && top.table().contains(block)) {
            return top.data();
        }
        if (below != null && below.table().contains(block)) {
            return below.data();
        }
        return base;
    }

    /** A hole when no layer holds a block of the range and the base has a hole there. */
    @Override
    public boolean isHole(long offsetBytes, long lengthBytes) {
        checkRange(offsetBytes, lengthBytes);
        Layers l = layers;
        return holeThrough(l.active(), l.frozen(), offsetBytes, lengthBytes);
    }

    boolean holeThrough(Layer top, Layer below, long offsetBytes, long lengthBytes) {
        if (lengthBytes <= 0) {
            return false;
        }
        long first = offsetBytes / BLOCK_BYTES;
        long last = (offsetBytes + lengthBytes - 1) / BLOCK_BYTES;
        for (Layer layer : new Layer[] {top, below}) {
            if (layer != null) {
                long b = layer.table().next(first);
                if (b >= 0 && b <= last) {
                    return false;
                }
            }
        }
        return base.isHole(offsetBytes, lengthBytes);
    }

    @Override
    public void write(long offsetBytes, ByteBuffer src) throws IOException {
        checkRange(offsetBytes, src.remaining());
        if (!src.hasRemaining()) {
            return;
        }
        long end = offsetBytes + src.remaining();
        swap.readLock().lock();
        try {
            Layers l = layers;
            copyUpEdges(l, offsetBytes, end);
            l.active().data().write(offsetBytes, src);
            record(l.active(), offsetBytes, end);
        } finally {
            swap.readLock().unlock();
        }
    }

    @Override
    public void zero(long offsetBytes, long lengthBytes, boolean mayDeallocate) throws IOException {
        checkRange(offsetBytes, lengthBytes);
        if (lengthBytes == 0) {
            return;
        }
        long end = offsetBytes + lengthBytes;
        swap.readLock().lock();
        try {
            Layers l = layers;
            copyUpEdges(l, offsetBytes, end);
            l.active().data().zero(offsetBytes, lengthBytes, mayDeallocate);
            record(l.active(), offsetBytes, end);
        } finally {
            swap.readLock().unlock();
        }
    }

    private void record(Layer active, long from, long to) {
        boolean first = active.table().count() == 0;
        active.table().set(from / BLOCK_BYTES, (to - 1) / BLOCK_BYTES);
        if (first) {
            firstWriteListener.run();
        }
    }

    /**
     * Runs {@code listener} on the writer's thread after the first write of each cycle is recorded
     * and before that write returns (a status file that must not claim the volume unchanged).
     */
    public void onFirstWriteOfCycle(Runnable listener) {
        this.firstWriteListener = Objects.requireNonNull(listener, "listener");
    }

    /**
     * Ends cycle mode for the volume at {@code basePath} (a switch to journal mode): every block
     * its layers hold is marked in {@code tracked} first (forced: what the replicas may lack),
     * then merged into the base, and the layers are deleted. A cut in the middle leaves layers
     * that the next call handles again. Does nothing when there are no layers.
     */
    public static void flatten(Path basePath, long sizeBytes, io.tapline.log.buffer.ChangedChunks tracked)
            throws IOException {
        if (!hasLayers(basePath)) {
            return;
        }
        long activeCycle;
        try (LayeredVolume v = open(basePath, sizeBytes)) {
            Layers l = v.layers;
            for (Layer layer : new Layer[] {l.frozen(), l.active()}) {
                if (layer == null) {
                    continue;
                }
                for (long b = layer.table().next(0); b >= 0; ) {
                    long run = b;
                    while (run + 1 < layer.table().blocks() && layer.table().contains(run + 1)) {
                        run++;
                    }
                    tracked.mark(b * BLOCK_BYTES, v.blockEnd(run) - b * BLOCK_BYTES);
                    b = run + 1 < layer.table().blocks() ? layer.table().next(run + 1) : -1;
                }
            }
            tracked.force();
            v.mergeFrozen((done, total) -> 0);
            if (v.activeBlocks() > 0) {
                v.freeze();
                v.mergeFrozen((done, total) -> 0);
            }
            activeCycle = v.activeCycle();
        }
        Files.deleteIfExists(tablePath(basePath, activeCycle)); // empty now: the table first, as always
        Files.deleteIfExists(dataPath(basePath, activeCycle));
        DurableFiles.syncDirectory(basePath.toAbsolutePath().getParent());
    }

    /** Whether cycle layers (a table) exist beside {@code basePath}. */
    public static boolean hasLayers(Path basePath) throws IOException {
        Path dir = basePath.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return false;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, basePath.getFileName() + ".cycle-*.table")) {
            return files.iterator().hasNext();
        }
    }

    /** Copies the first and last block of {@code [from, to)} up into the active layer where the range covers them in part. */
    private void copyUpEdges(Layers l, long from, long to) throws IOException {
        long first = from / BLOCK_BYTES;
        long last = (to - 1) / BLOCK_BYTES;
        if (from % BLOCK_BYTES != 0 || (first == last && to < blockEnd(first))) {
            copyUp(l, first);
        }
        if (last != first && to < blockEnd(last)) {
            copyUp(l, last);
        }
    }

    private long blockEnd(long block) {
        return Math.min(sizeBytes, (block + 1) * (long) BLOCK_BYTES);
    }

    private void copyUp(Layers l, long block) throws IOException {
        if (l.active().table().contains(block)) {
            return;
        }
        long offset = block * BLOCK_BYTES;
        ByteBuffer b = ByteBuffer.allocate((int) (blockEnd(block) - offset));
        readThrough(null, l.frozen(), offset, b);
        b.flip();
        l.active().data().write(offset, b);
        // The bit is set with the write that needed the copy (the caller), never before its data.
    }

    /**
     * Makes every completed write durable: the active layer's data, then the table pages taken
     * before that, so a block in a table always has its data on disk.
     */
    @Override
    public void force() throws IOException {
        swap.readLock().lock();
        try {
            Layer active = layers.active();
            FreezeTable.Pages pages = active.table().takeDirty();
            active.data().force();
            active.table().persist(pages);
        } finally {
            swap.readLock().unlock();
        }
    }

    /**
     * Starts a cycle: the active layer becomes the frozen image (made durable first) and a new,
     * empty layer takes the writes. Must run where no write is in flight.
     *
     * @throws IllegalStateException when a frozen image is still waiting to be copied
     */
    public FrozenImage freeze() throws IOException {
        return freeze(System.currentTimeMillis());
    }

    /** As {@link #freeze()}, recording {@code atMillis} as the instant (one instant for a group's volumes). */
    public FrozenImage freeze(long atMillis) throws IOException {
        swap.writeLock().lock();
        try {
            Layers l = layers;
            if (l.frozen() != null) {
                throw new IllegalStateException("cycle " + l.frozen().cycle() + " is frozen and not copied yet");
            }
            FreezeTable.Pages pages = l.active().table().takeDirty();
            l.active().data().force();
            l.active().table().persist(pages);
            Layer next = createLayer(basePath, l.active().cycle() + 1, sizeBytes, atMillis);
            layers = new Layers(next, l.active(), atMillis);
            return new FrozenImage(this, l.active(), atMillis);
        } finally {
            swap.writeLock().unlock();
        }
    }

    /**
     * The frozen image was copied: its blocks are written into the base (made durable), then the
     * layer is dropped and its files deleted, table first. Idempotent after a crash: a layer whose
     * merge did not finish is frozen again on open, copied again and merged again.
     *
     * @param progress told the blocks merged so far, and the total
     */
    public void mergeFrozen(java.util.function.LongBinaryOperator progress) throws IOException {
        Layer frozen = layers.frozen();
        if (frozen == null) {
            return;
        }
        long total = frozen.table().count();
        long done = 0;
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        for (long b = frozen.table().next(0); b >= 0; ) {
            long run = b;
            while (run + 1 < frozen.table().blocks() && (run + 1 - b) * BLOCK_BYTES < buf.capacity()
                    && frozen.table().contains(run + 1)) {
                run++;
            }
            long offset = b * BLOCK_BYTES;
            int n = (int) (blockEnd(run) - offset);
            buf.clear().limit(n);
            frozen.data().read(offset, buf);
            buf.flip();
            base.write(offset, buf);
            done += run - b + 1;
            progress.applyAsLong(done, total);
            b = run + 1 < frozen.table().blocks() ? frozen.table().next(run + 1) : -1;
        }
        base.force();
        swap.writeLock().lock();
        try {
            layers = new Layers(layers.active(), null, 0);
        } finally {
            swap.writeLock().unlock();
        }
        frozen.close();
        Files.deleteIfExists(frozen.table().path());
        Files.deleteIfExists(dataPath(basePath, frozen.cycle()));
        DurableFiles.syncDirectory(basePath.toAbsolutePath().getParent());
    }

    VolumeFile base() {
        return base;
    }

    private void checkRange(long offsetBytes, long lengthBytes) {
        if (offsetBytes < 0 || lengthBytes < 0 || offsetBytes + lengthBytes > sizeBytes) {
            throw new IllegalArgumentException("range [" + offsetBytes + ", " + (offsetBytes + lengthBytes)
                    + ") outside volume of " + sizeBytes + " bytes");
        }
    }

    /** Makes the writes durable ({@link #force}) and closes every file. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        try {
            force(); // a clean stop keeps every write, flushed or not
        } catch (IOException e) {
            first = e;
        }
        swap.writeLock().lock();
        try {
            Layers l = layers;
            for (Layer layer : new Layer[] {l.active(), l.frozen()}) {
                if (layer == null) {
                    continue;
                }
                try {
                    layer.close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
            base.close();
            if (first != null) {
                throw first;
            }
        } finally {
            swap.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "LayeredVolume[" + basePath + ", active cycle " + Objects.requireNonNull(layers).active().cycle() + "]";
    }
}
