package io.tapline.log.crash;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a disk holds after a power cut, in memory: directories, links (path to inode) and inode
 * contents. Contents are never changed in place (a write makes a new array), so copies share them.
 */
final class DiskImage {
    private final Map<String, Integer> links;
    private final Set<String> dirs;
    private final Map<Integer, byte[]> contents;

    DiskImage() {
        this(new HashMap<>(), new HashSet<>(Set.of("")), new HashMap<>());
    }

    private DiskImage(Map<String, Integer> links, Set<String> dirs, Map<Integer, byte[]> contents) {
        this.links = links;
        this.dirs = dirs;
        this.contents = contents;
    }

    DiskImage copy() {
        return new DiskImage(new HashMap<>(links), new HashSet<>(dirs), new HashMap<>(contents));
    }

    /** Applies {@code op} as the disk would after it persisted. */
    void apply(FileOp op) {
        if (op instanceof FileOp.Create c) {
            links.put(c.path(), c.inode());
            contents.putIfAbsent(c.inode(), new byte[0]);
        } else if (op instanceof FileOp.Mkdir m) {
            dirs.add(m.path());
        } else if (op instanceof FileOp.Write w) {
            write(w.inode(), w.offset(), w.bytes(), w.bytes().length);
        } else if (op instanceof FileOp.Truncate t) {
            byte[] old = contents.getOrDefault(t.inode(), new byte[0]);
            contents.put(t.inode(), Arrays.copyOf(old, (int) t.size()));
        } else if (op instanceof FileOp.Rename r) {
            links.remove(r.from());
            links.put(r.to(), r.inode());
        } else if (op instanceof FileOp.Unlink u) {
            links.remove(u.path());
            dirs.remove(u.path());
        }
    }

    /**
     * Applies a write of which only the first {@code keep} bytes reached the platter; when
     * {@code extendSize}, the file's size still covers the whole write (the rest reads as zeros).
     */
    void applyTorn(FileOp.Write w, int keep, boolean extendSize) {
        write(w.inode(), w.offset(), w.bytes(), keep);
        if (extendSize) {
            byte[] now = contents.get(w.inode());
            long end = w.offset() + w.bytes().length;
            if (now.length < end) {
                contents.put(w.inode(), Arrays.copyOf(now, (int) end));
            }
        }
    }

    /**
     * Applies a write whose sectors reached the disk out of order: all but the first
     * {@code holeBytes} (which stay as they were: zeros beyond the old end of the file).
     */
    void applyWithHole(FileOp.Write w, int holeBytes) {
        byte[] old = contents.getOrDefault(w.inode(), new byte[0]);
        write(w.inode(), w.offset(), w.bytes(), w.bytes().length);
        byte[] now = contents.get(w.inode());
        for (int i = 0; i < holeBytes; i++) {
            long at = w.offset() + i;
            now[(int) at] = at < old.length ? old[(int) at] : 0;
        }
    }

    /** Applies a write whose size change persisted but whose data did not (reads as zeros where it grew the file). */
    void applySizeOnly(FileOp.Write w) {
        applyTorn(w, 0, true);
    }

    private void write(int inode, long offset, byte[] bytes, int length) {
        byte[] old = contents.getOrDefault(inode, new byte[0]);
        long end = offset + length;
        byte[] now = Arrays.copyOf(old, (int) Math.max(old.length, end));
        System.arraycopy(bytes, 0, now, (int) offset, length);
        contents.put(inode, now);
    }

    /** A fingerprint of the visible tree (paths and contents), computed with cached per-array hashes. */
    long fingerprint(IdentityHashMap<byte[], Long> cache) {
        long h = 1469598103934665603L;
        for (Map.Entry<String, Integer> e : new TreeMap<>(links).entrySet()) {
            if (!visible(e.getKey())) {
                continue;
            }
            byte[] c = contents.get(e.getValue());
            long ch = cache.computeIfAbsent(c, DiskImage::hash64);
            h = (h ^ e.getKey().hashCode()) * 1099511628211L;
            h = (h ^ ch) * 1099511628211L;
        }
        for (String d : new TreeSet<>(dirs)) {
            h = (h ^ d.hashCode() * 31L) * 1099511628211L;
        }
        return h;
    }

    private static long hash64(byte[] b) {
        long h = 1469598103934665603L ^ b.length;
        for (byte x : b) {
            h = (h ^ x) * 1099511628211L;
        }
        return h;
    }

    private boolean visible(String path) {
        String parent = FileOp.parentOf(path);
        while (true) {
            if (!dirs.contains(parent)) {
                return false;
            }
            if (parent.isEmpty()) {
                return true;
            }
            parent = FileOp.parentOf(parent);
        }
    }

    /** Writes the visible tree under {@code root} (which must exist and be empty). */
    void writeTo(Path root) throws IOException {
        for (String d : new TreeSet<>(dirs)) {
            if (!d.isEmpty() && visible(d)) {
                Files.createDirectories(root.resolve(d));
            }
        }
        for (Map.Entry<String, Integer> e : links.entrySet()) {
            if (visible(e.getKey())) {
                Files.write(root.resolve(e.getKey()), contents.get(e.getValue()));
            }
        }
    }
}
