package io.tapline.log.crash;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Builds the states a power cut could leave after each operation of a recorded workload and has
 * the workload's oracle open each one (in the spirit of ALICE, OSDI '14, and CrashMonkey, OSDI '18).
 *
 * <p>The persistence model (ext4 {@code data=ordered}-like, stricter for data):
 * <ul>
 *   <li>Metadata (create, mkdir, rename, unlink, truncate) persists in issue order, as the
 *       journal commits it: a cut keeps some prefix of the metadata issued since the last fsync
 *       of any file or directory; everything before that fsync is durable.
 *   <li>Data writes to a file persist in any order and any subset until an fsync of that file,
 *       at the granularity of 512-byte sectors (a sector is written back whole, with every
 *       earlier write to it: a kept write keeps the earlier ones it shares a sector with);
 *       a write can be torn at a 512-byte sector boundary, lose its first sector while later
 *       ones persist, or persist its size change with its data still zeros (the zero-filled
 *       tail ext4 leaves).
 * </ul>
 * Per cut the explorer tries: nothing pending persisted, everything, each in-order prefix, each
 * single write dropped (reordering), each write torn or zero-filled, and seeded random subsets;
 * identical disk images with identical expectations are checked once.
 */
final class CrashExplorer {
    private static final int SECTOR = 512;

    /** Figures of one exploration. */
    record Report(String kind, int operations, int cuts, long statesBuilt, long statesChecked, long refused,
            List<String> failures, long paddedWrites) {
    }

    private final int randomPerCut;
    private final int maxFailures;
    private final long seed;

    CrashExplorer(int randomPerCut, int maxFailures, long seed) {
        this.randomPerCut = randomPerCut;
        this.maxFailures = maxFailures;
        this.seed = seed;
    }

    Report explore(CrashWorkload workload, Path scratch) throws Exception {
        Path recorded = Files.createDirectories(scratch.resolve("recorded"));
        RecordingFileSystem fs = new RecordingFileSystem(recorded);
        workload.run(fs.root(), fs.trace());
        List<FileOp> ops = fs.trace().ops();

        DiskImage base = new DiskImage();
        List<Integer> pendingMeta = new ArrayList<>();
        List<Integer> pendingData = new ArrayList<>();
        IdentityHashMap<byte[], Long> hashes = new IdentityHashMap<>();
        Set<String> seen = new HashSet<>();
        List<String> failures = new ArrayList<>();
        Random random = new Random(seed);
        long built = 0;
        long checked = 0;
        Path state = scratch.resolve("state");
        for (int k = 0; k <= ops.size(); k++) {
            if (k > 0) {
                advance(ops, k - 1, base, pendingMeta, pendingData);
            }
            String expectation = workload.expectationAt(k);
            for (Variant v : variants(ops, pendingMeta, pendingData, random)) {
                built++;
                DiskImage image = v.build(base, ops);
                String key = image.fingerprint(hashes) + "|" + expectation;
                if (!seen.add(key)) {
                    continue;
                }
                checked++;
                deleteTree(state);
                Files.createDirectories(state);
                image.writeTo(state);
                try {
                    workload.check(state, k);
                } catch (Throwable t) {
                    if (failures.size() < maxFailures) {
                        failures.add("cut after op " + k + "/" + ops.size() + " (" + (k > 0 ? ops.get(k - 1)
                                .getClass().getSimpleName() : "start") + ") state=" + v.describe(ops) + ": " + t);
                    }
                }
            }
        }
        deleteTree(state);
        deleteTree(recorded);
        long padded = ops.stream().filter(op -> op instanceof FileOp.Write w && w.bytes().length > 0
                && w.offset() % 4096 == 0 && w.bytes().length % 4096 == 0).count();
        return new Report(workload.kind(), ops.size(), ops.size() + 1, built, checked, workload.refusedWithRepair(),
                failures, padded);
    }

    /** Moves op {@code i} into the pending lists, and the pending ops a sync covers into the base. */
    private static void advance(List<FileOp> ops, int i, DiskImage base, List<Integer> pendingMeta,
            List<Integer> pendingData) {
        FileOp op = ops.get(i);
        if (op instanceof FileOp.Write) {
            pendingData.add(i);
            return;
        }
        if (op instanceof FileOp.SyncFile || op instanceof FileOp.SyncDir) {
            int syncedInode = op instanceof FileOp.SyncFile sf ? sf.inode() : Integer.MIN_VALUE;
            // The journal commit: all metadata so far is durable, applied in order with the data
            // writes of the synced file interleaved as issued.
            List<Integer> durable = new ArrayList<>(pendingMeta);
            for (Integer d : pendingData) {
                if (((FileOp.Write) ops.get(d)).inode() == syncedInode) {
                    durable.add(d);
                }
            }
            durable.sort(Comparator.naturalOrder());
            for (Integer d : durable) {
                base.apply(ops.get(d));
            }
            for (Integer m : pendingMeta) {
                if (ops.get(m) instanceof FileOp.Truncate t) {
                    // Pages cut away by a durable truncate never reach the disk afterwards.
                    pendingData.removeIf(d -> d < m && ((FileOp.Write) ops.get(d)).inode() == t.inode());
                }
            }
            pendingMeta.clear();
            pendingData.removeIf(d -> ((FileOp.Write) ops.get(d)).inode() == syncedInode);
            return;
        }
        pendingMeta.add(i);
    }

    /** One choice of which pending operations persisted, and how. */
    private record Variant(int metaPrefix, List<Integer> meta, List<Integer> data, int torn, int tornKeep,
            boolean tornExtends) {

        DiskImage build(DiskImage base, List<FileOp> ops) {
            DiskImage image = base.copy();
            List<Integer> chosen = new ArrayList<>(meta.subList(0, metaPrefix));
            chosen.addAll(data);
            if (torn >= 0) {
                chosen.add(torn);
            }
            chosen.sort(Comparator.naturalOrder());
            for (Integer i : chosen) {
                if (i == torn && tornKeep < 0) {
                    image.applyWithHole((FileOp.Write) ops.get(i), -tornKeep);
                } else if (i == torn) {
                    image.applyTorn((FileOp.Write) ops.get(i), tornKeep, tornExtends);
                } else {
                    image.apply(ops.get(i));
                }
            }
            return image;
        }

        String describe(List<FileOp> ops) {
            return "meta " + metaPrefix + "/" + meta.size() + ", writes kept " + data
                    + (torn >= 0 ? ", write " + torn + (tornKeep < 0 ? " with a hole of " + -tornKeep : " torn at " + tornKeep
                    + (tornExtends ? " size kept" : "")) : "");
        }
    }

    /**
     * {@code chosen} closed under the disk's sector granularity: a sector is written back whole,
     * with every write made to it before, so a kept write keeps every earlier pending write that
     * shares a sector with it (same file).
     */
    private static List<Integer> closed(List<Integer> chosen, List<Integer> pending, List<FileOp> ops) {
        java.util.TreeSet<Integer> kept = new java.util.TreeSet<>(chosen);
        java.util.ArrayDeque<Integer> work = new java.util.ArrayDeque<>(chosen);
        while (!work.isEmpty()) {
            int wi = work.pop();
            FileOp.Write w = (FileOp.Write) ops.get(wi);
            long first = w.offset() / SECTOR;
            long last = (w.offset() + w.bytes().length - 1) / SECTOR;
            for (Integer j : pending) {
                if (kept.contains(j)) {
                    continue;
                }
                FileOp.Write e = (FileOp.Write) ops.get(j);
                if (e.inode() == w.inode() && j < wi
                        && e.offset() / SECTOR <= last && (e.offset() + e.bytes().length - 1) / SECTOR >= first) {
                    kept.add(j);
                    work.push(j);
                }
            }
        }
        return new ArrayList<>(kept);
    }

    private List<Variant> variants(List<FileOp> ops, List<Integer> meta, List<Integer> data, Random random) {
        List<Variant> raw = variantsByWrite(ops, meta, data, random);
        List<Variant> out = new ArrayList<>(raw.size());
        for (Variant v : raw) {
            out.add(new Variant(v.metaPrefix(), v.meta(), closed(v.data(), data, ops), v.torn(), v.tornKeep(),
                    v.tornExtends()));
        }
        return out;
    }

    private List<Variant> variantsByWrite(List<FileOp> ops, List<Integer> meta, List<Integer> data, Random random) {
        List<Variant> out = new ArrayList<>();
        List<Integer> metaCopy = List.copyOf(meta);
        List<Integer> none = List.of();
        for (int m = 0; m <= metaCopy.size(); m++) {
            out.add(new Variant(m, metaCopy, none, -1, 0, false));
            if (!data.isEmpty()) {
                out.add(new Variant(m, metaCopy, List.copyOf(data), -1, 0, false));
            }
        }
        int all = metaCopy.size();
        for (int p = 1; p < data.size(); p++) {
            out.add(new Variant(all, metaCopy, List.copyOf(data.subList(0, p)), -1, 0, false));
        }
        for (int drop = 0; drop < data.size() && data.size() > 1; drop++) {
            List<Integer> kept = new ArrayList<>(data);
            kept.remove(drop);
            out.add(new Variant(all, metaCopy, kept, -1, 0, false));
        }
        for (int t = 0; t < data.size(); t++) {
            FileOp.Write w = (FileOp.Write) ops.get(data.get(t));
            List<Integer> before = List.copyOf(data.subList(0, t));
            long end = w.offset() + w.bytes().length;
            long mid = (w.offset() + end) / 2 / SECTOR * SECTOR;
            int keep = (int) Math.max(0, mid - w.offset());
            out.add(new Variant(all, metaCopy, before, data.get(t), 0, true));
            if (keep > 0 && keep < w.bytes().length) {
                out.add(new Variant(all, metaCopy, before, data.get(t), keep, false));
                out.add(new Variant(all, metaCopy, before, data.get(t), keep, true));
                // The first sector it touches lost, the rest written: a negative keep is a hole.
                int hole = (int) Math.min(w.bytes().length - 1, (w.offset() / SECTOR + 1) * SECTOR - w.offset());
                out.add(new Variant(all, metaCopy, before, data.get(t), -hole, true));
            }
        }
        for (int r = 0; r < randomPerCut && data.size() > 2; r++) {
            List<Integer> kept = new ArrayList<>();
            for (Integer d : data) {
                if (random.nextBoolean()) {
                    kept.add(d);
                }
            }
            out.add(new Variant(random.nextInt(all + 1), metaCopy, kept, -1, 0, false));
        }
        return out;
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
