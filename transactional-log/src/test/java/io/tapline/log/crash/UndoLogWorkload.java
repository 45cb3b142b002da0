package io.tapline.log.crash;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import io.tapline.log.undo.UndoLog;
import io.tapline.log.undo.UndoRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The replayer's undo log: before-images appended per applied batch (several per sequence),
 * synced per batch as the apply path does, segment rolls, size retention deleting old
 * segments, a rollback that truncates the log, and appends after it. Oracle: the log opens;
 * every before-image synced before the cut and not deleted since is there with its bytes;
 * every record it returns was appended; records a finished rollback removed never come back
 * (a later rollback would restore stale bytes); sequences go newest first. A refusal with the
 * documented repair is allowed only where a sector the cut left unwritten explains it (the
 * undo log cannot tell an unsynced hole from a damaged synced record; see UndoSegment).
 *
 * <p>With {@code recycle}, retention keeps a dropped segment aside and the next segment reuses
 * it: a recycled file holds older records past the new ones, and none of them may ever be read
 * back as the new segment's (the order check catches one: its sequence is below the new records').
 */
final class UndoLogWorkload implements CrashWorkload {
    private static final UndoConfig CONFIG = new UndoConfig(8192, 48 << 10, Duration.ofDays(1));

    private final int batches;
    private final boolean recycle;
    private final Set<String> appended = new HashSet<>();
    private final Ledger<List<String>> synced = new Ledger<>(List.of());
    private final Ledger<Set<String>> removed = new Ledger<>(Set.of());
    private final Ledger<Set<String>> mustStayGone = new Ledger<>(Set.of());
    private long refused;

    @Override
    public long refusedWithRepair() {
        return refused;
    }

    UndoLogWorkload(int batches, boolean recycle) {
        this.batches = batches;
        this.recycle = recycle;
    }

    @Override
    public String kind() {
        return recycle ? "undo log, segments recycled" : "undo log";
    }

    static String key(UndoRecord r) {
        return r.sequence() + "@" + r.offsetBytes() + "+" + r.lengthBytes() + (r.zeroes() ? "z" : "#"
                + Arrays.hashCode(r.data()));
    }

    @Override
    public void run(Path root, FileOpTrace trace) throws Exception {
        Path dir = root.resolve("undo");
        long key = 1;
        long seq = 0;
        Set<String> gone = new HashSet<>();
        UndoLog undo = UndoLog.open(dir, CONFIG, Clock.systemUTC());
        if (recycle) {
            undo.recycleSegmentsWhen(() -> true);
        }
        for (int b = 0; b < batches; b++) {
            for (int n = 0; n < 1 + b % 3; n++) {
                seq++;
                for (int part = 0; part < 1 + (seq % 4 == 0 ? 1 : 0); part++) {
                    byte[] old = key % 9 == 0 ? new byte[512] : Payloads.of(key, Payloads.length(key));
                    UndoRecord r = UndoRecord.of(seq, seq * 1000, RecordKind.WRITE, seq * 8192 + part * 4096, old);
                    key++;
                    undo.append(r);
                    appended.add(key(r));
                }
            }
            undo.sync();
            synced.note(trace.size(), live(undo));
            if (b % 10 == 9) {
                Set<String> before = new HashSet<>(live(undo));
                int at = trace.size();
                undo.enforceRetention();
                before.removeAll(live(undo));
                gone.addAll(before);
                removed.note(at, Set.copyOf(gone));
                synced.note(trace.size(), live(undo));
            }
            if (b == batches / 2) {
                long target = seq - 5;
                List<String> above = new ArrayList<>();
                for (String k : live(undo)) {
                    if (Long.parseLong(k.substring(0, k.indexOf('@'))) > target) {
                        above.add(k);
                    }
                }
                gone.addAll(above);
                removed.note(trace.size(), Set.copyOf(gone));
                undo.rollBackAbove(target, new NoApplier(), (d, t) -> { });
                mustStayGone.note(trace.size(), Set.copyOf(above));
                synced.note(trace.size(), live(undo));
                seq = target;
            }
        }
        undo.close();
    }

    private static List<String> live(UndoLog undo) throws IOException {
        List<String> keys = new ArrayList<>();
        undo.replayAbove(0, new UndoLog.Applier() {
            @Override
            public void apply(UndoRecord record) {
                keys.add(key(record));
            }

            @Override
            public void force() {
            }
        });
        return keys;
    }

    @Override
    public String expectationAt(int opsDone) {
        return synced.at(opsDone).size() + "/" + synced.at(opsDone).hashCode() + "/" + removed.at(opsDone).size()
                + "/" + mustStayGone.at(opsDone).size();
    }

    @Override
    public void check(Path dir, int opsDone) throws Exception {
        Path undoDir = dir.resolve("undo");
        List<String> mustHave = new ArrayList<>(synced.at(opsDone));
        mustHave.removeAll(removed.at(opsDone));
        if (!Files.exists(undoDir)) {
            assertTrue(mustHave.isEmpty(), "undo directory lost with " + mustHave.size() + " synced records");
            return;
        }
        UndoLog opened;
        try {
            opened = UndoLog.open(undoDir, CONFIG, Clock.systemUTC());
        } catch (io.tapline.log.undo.UndoFormatException e) {
            // The documented refusal (runbook: move the segment aside): allowed only where a sector
            // the cut left unwritten explains the damage, i.e. never for synced, intact records.
            java.util.regex.Matcher m = java.util.regex.Pattern
                    .compile("mid-file corruption at offset (\\d+):.*later records follow.* file=(\\S+)$")
                    .matcher(e.getMessage());
            assertTrue(m.find(), "refused: " + e.getMessage());
            Path file = Path.of(m.group(2));
            long badAt = Long.parseLong(m.group(1));
            if (recycle) {
                // An unwritten sector of a recycled file holds its older bytes, not zeros: the
                // refusal is allowed when the damaged record is one no sync covered.
                int before = recordsBefore(file, badAt);
                long synced = syncedIn(file, mustHave);
                assertTrue(synced <= before, "refused at a synced record (" + synced + " synced, " + before
                        + " intact before it): " + e.getMessage());
            } else {
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
                    assertTrue(io.tapline.log.DurableFiles.hasUnwrittenSector(ch, badAt, ch.size()),
                            "refused without an unwritten sector: " + e.getMessage());
                }
            }
            refused++;
            return;
        }
        try (UndoLog undo = opened) {
            List<String> got = live(undo);
            Set<String> gotSet = new HashSet<>(got);
            for (String k : got) {
                assertTrue(appended.contains(k), "record never appended: " + k);
                assertTrue(!mustStayGone.at(opsDone).contains(k), "record a finished rollback removed is back: " + k);
            }
            for (String k : mustHave) {
                assertTrue(gotSet.contains(k), "synced record lost: " + k + " (recovered " + got.size() + ")");
            }
            long previous = Long.MAX_VALUE;
            for (String k : got) {
                long s = Long.parseLong(k.substring(0, k.indexOf('@')));
                assertTrue(s <= previous, "sequences out of order at " + k);
                previous = s;
            }
        }
    }

    /** How many records start in {@code segment} before {@code offset} (the intact ones before a damaged record). */
    private static int recordsBefore(Path segment, long offset) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(Files.readAllBytes(segment));
        int n = 0;
        long pos = 32;
        while (pos < offset) {
            pos += 4 + (b.getInt((int) pos) & 0xFFFFFFFFL); // recordLength: the bytes after it
            n++;
        }
        return n;
    }

    /**
     * How many of the records that must have survived belong to {@code segment}: those whose
     * sequence lies from its base (its name) to the next segment's (a sequence never spans two).
     */
    private static long syncedIn(Path segment, List<String> mustHave) throws IOException {
        long base = Long.parseLong(segment.getFileName().toString().replace(".undo", ""));
        long next = Long.MAX_VALUE;
        try (java.util.stream.Stream<Path> files = Files.list(segment.getParent())) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(".undo")) {
                    long b = Long.parseLong(name.replace(".undo", ""));
                    if (b > base && b < next) {
                        next = b;
                    }
                }
            }
        }
        long n = 0;
        for (String k : mustHave) {
            long seq = Long.parseLong(k.substring(0, k.indexOf('@')));
            if (seq >= base && seq < next) {
                n++;
            }
        }
        return n;
    }

    private static final class NoApplier implements UndoLog.Applier {
        @Override
        public void apply(UndoRecord record) {
        }

        @Override
        public void force() {
        }
    }
}
