package io.tapline.log.audit;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * Checks a volume's audit chain, opening the files read-only: every entry's CRC, its index
 * (dense from 1), its hash over the previous hash, and the head's count and hash. Names the
 * first bad entry: altered (CRC or hash), removed or reordered (index out of place), inserted
 * (hash), truncated (fewer entries than the head records, or a torn last entry).
 *
 * <p>Stateless and thread-safe.
 */
public final class AuditVerifier {
    private static final long MIN_LENGTH = AuditLog.FIXED - 4 + 32;
    private static final long MAX_LENGTH = AuditLog.FIXED + 2 * 4096 + 32;

    private AuditVerifier() {
    }

    /**
     * The outcome of a check.
     *
     * @param intact             every entry and the head agree
     * @param tornTail           the only problem is an incomplete last entry (a crash while appending)
     * @param problem            the first problem, naming the entry; empty when intact
     * @param entries            entries that verified
     * @param validBytes         bytes of the log that verified
     * @param lastHash           hash of the last verified entry (32 zero bytes if none)
     * @param headGeneration     generation of the valid head slot, 0 if none
     * @param lastRecordSequence see {@link AuditLog#lastRecordSequence()}
     * @param headEntries        entries the head counts
     * @param lastEntryStart     where the last verified entry starts (0 if none)
     * @param checkedFrom        entries taken from a checkpoint, not read by this check (0: the whole chain)
     */
    public record Result(boolean intact, boolean tornTail, String problem, long entries, long validBytes,
            byte[] lastHash, long headGeneration, long lastRecordSequence, long headEntries, long lastEntryStart,
            long checkedFrom) {

        /**
         * Verified entries after the head's count: appended after the last head update (a
         * crash before it, or a writer still running). They chain, but nothing confirms that
         * entries after them were not removed.
         */
        public long unconfirmedEntries() {
            return Math.max(0, entries - headEntries);
        }
    }

    /**
     * Verifies {@code volumeDir/audit/}; an absent or empty log is an intact empty one. A log
     * with entries but no valid head slot fails: a cut at an entry boundary could not be seen.
     */
    public static Result verify(Path volumeDir) throws IOException {
        return new Walk(volumeDir, null).run(null);
    }

    /** As {@link #verify}, handing each verified entry to {@code out} in order (one at a time: none is kept). */
    static Result scan(Path volumeDir, Consumer<? super AuditEntry> out) throws IOException {
        return new Walk(volumeDir, out).run(null);
    }

    /**
     * Verifies the entries after {@code checkpoint} and the head, as {@link #verify} does the
     * whole chain; null when the checkpoint does not match the files (the entry it names is not
     * where it says, or the head counts fewer entries): then only a whole check can say what is wrong.
     */
    static Result verifyAfter(Path volumeDir, AuditCheckpoint checkpoint) throws IOException {
        return new Walk(volumeDir, null).run(checkpoint);
    }

    /** A WRITE of the cycle being followed. */
    private record CycleWrite(long sequence, long offsetBytes, long lengthBytes, byte[] payloadDigest) {
    }

    /** The cycle a walk follows: its RESYNC_BEGIN's sequence and its WRITEs so far. */
    private static final class Cycle {
        final long beginSequence;
        final List<CycleWrite> writes = new java.util.ArrayList<>();

        Cycle(long beginSequence) {
            this.beginSequence = beginSequence;
        }
    }

    /**
     * Follows a cycle's records: a RESYNC_BEGIN starts one, each WRITE joins it, a ROLLBACK or
     * RECOVERY to sequence S drops what came after S (it is applied and logged again), and a
     * RESYNC_END that carries a cycle digest must match the digest of the WRITEs between.
     * Returns the problem, or null.
     */
    private static final class CycleFollower {
        /** The cycle being followed (see {@link CycleDigest}), or null. */
        private Cycle current;
        /** A walk from a checkpoint: a cycle's end may come before any RESYNC_BEGIN is seen. */
        private boolean beginMaybeUnseen;

        /** The walk starts after a checkpoint: the first cycle's RESYNC_BEGIN may be before it. */
        void joinMidway() {
            beginMaybeUnseen = true;
        }

        /** Whether an entry of this type and record kind changes or is checked against what is followed. */
        boolean follows(AuditType type, int recordKind) {
            if (type == AuditType.ROLLBACK || type == AuditType.RECOVERY) {
                return current != null;
            }
            return type == AuditType.RECORD && (recordKind == io.tapline.log.RecordKind.RESYNC_BEGIN.wireValue()
                    || recordKind == io.tapline.log.RecordKind.RESYNC_END.wireValue()
                    || recordKind == io.tapline.log.RecordKind.WRITE.wireValue() && current != null);
        }

        String check(AuditEntry entry) {
            if (entry.type() == AuditType.ROLLBACK || entry.type() == AuditType.RECOVERY) {
                long back = entry.captureTimeNanos(); // the target sequence
                Cycle c = current;
                if (c != null && c.beginSequence > back) {
                    current = null;
                } else if (c != null) {
                    c.writes.removeIf(w -> w.sequence() > back);
                }
                return null;
            }
            if (entry.type() != AuditType.RECORD) {
                return null;
            }
            int kind = entry.recordKind();
            if (kind == io.tapline.log.RecordKind.RESYNC_BEGIN.wireValue()) {
                beginMaybeUnseen = false;
                // Only a cycle's epoch is followed: a journal-mode epoch has the host's writes in between.
                current = entry.detail().contains("cycle") ? new Cycle(entry.sequence()) : null;
            } else if (kind == io.tapline.log.RecordKind.WRITE.wireValue() && current != null) {
                List<CycleWrite> writes = current.writes;
                while (!writes.isEmpty() && writes.get(writes.size() - 1).sequence() >= entry.sequence()) {
                    writes.remove(writes.size() - 1); // applied and logged again after a restart
                }
                writes.add(new CycleWrite(entry.sequence(), entry.offsetBytes(), entry.lengthBytes(),
                        entry.payloadDigest()));
            } else if (kind == io.tapline.log.RecordKind.RESYNC_END.wireValue()) {
                String claimed = CycleDigest.find(entry.detail());
                Cycle c = current;
                current = null;
                if (claimed != null && !(c == null && beginMaybeUnseen)) {
                    String found = "no RESYNC_BEGIN before it";
                    if (c != null) {
                        CycleDigest d = new CycleDigest();
                        for (CycleWrite w : c.writes) {
                            d.addWrite(w.offsetBytes(), w.lengthBytes(), w.payloadDigest());
                        }
                        found = d.text();
                    }
                    if (!claimed.equals(found)) {
                        return "entry " + entry.index() + " (RESYNC_END seq " + entry.sequence() + "): the cycle's writes"
                                + " in the log do not match the source's digest (claimed:" + claimed + "; in the log: "
                                + found.strip() + ")";
                    }
                }
            }
            return null;
        }
    }

    /** One pass over the log, from its start or from a checkpoint, and where it stands. */
    private static final class Walk {
        private final Path dir;
        private final Consumer<? super AuditEntry> out;
        private final CycleFollower cycles = new CycleFollower();
        private long headGen;
        private long headEntries;
        private byte[] headHash;
        private byte[] prev = new byte[32];
        private long entries;
        private long pos;
        private long lastRecordSeq;
        private long lastEntryStart;
        private long checkedFrom;

        Walk(Path volumeDir, Consumer<? super AuditEntry> out) {
            this.dir = volumeDir.resolve(AuditLog.DIR);
            this.out = out;
        }

        private Result result(boolean intact, boolean torn, String problem) {
            return new Result(intact, torn, problem, entries, pos, prev, headGen, lastRecordSeq, headEntries,
                    lastEntryStart, checkedFrom);
        }

        private Result failed(String problem) {
            return result(false, false, problem);
        }

        /** The check; from {@code checkpoint} when not null (null when it does not match: see {@link #verifyAfter}). */
        Result run(AuditCheckpoint checkpoint) throws IOException {
            Path logFile = dir.resolve(AuditLog.LOG);
            AlternatingSlots.Slot head = AuditLog.HEAD_SLOTS.readNewest(dir.resolve(AuditLog.HEAD));
            if (head != null) {
                headGen = head.generation();
                headEntries = head.body().getLong(0);
                headHash = new byte[32];
                head.body().get(8, headHash);
            }
            if (!Files.exists(logFile)) {
                return checkpoint != null ? null : headEntries == 0 ? result(true, false, "")
                        : failed("truncated: the log is missing, the head records " + headEntries + " entries");
            }
            if (head == null && Files.size(logFile) > 0) {
                return checkpoint != null ? null : failed("head: " + dir.resolve(AuditLog.HEAD) + (Files.exists(
                        dir.resolve(AuditLog.HEAD)) ? " has no valid slot" : " is missing") + " (expected: a valid head"
                        + " for a log with entries; without it a log cut at an entry boundary cannot be detected)");
            }
            try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.READ)) {
                if (checkpoint != null && !startAt(checkpoint, ch)) {
                    return null;
                }
                return entriesFrom(ch);
            }
        }

        /** Starts after the checkpointed entry when it is in the log where the checkpoint says; false if not. */
        private boolean startAt(AuditCheckpoint c, FileChannel ch) throws IOException {
            long len = c.endOffset() - c.entryStart() - 4;
            if (c.entries() < 1 || c.entries() > headEntries || c.entryStart() < 0 || len < MIN_LENGTH
                    || len > MAX_LENGTH || c.endOffset() > ch.size()) {
                return false;
            }
            ByteBuffer e = ByteBuffer.allocate((int) (4 + len));
            if (DurableFiles.readUpTo(ch, e, c.entryStart()) < e.capacity() || e.getInt(0) != len
                    || !crcMatches(e.array(), 0, e.capacity()) || e.getLong(12) != c.entries()
                    || !Arrays.equals(e.array(), e.capacity() - 32, e.capacity(), c.hash(), 0, 32)
                    || c.entries() == headEntries && !Arrays.equals(c.hash(), headHash)) {
                return false;
            }
            entries = c.entries();
            pos = c.endOffset();
            prev = c.hash().clone();
            lastRecordSeq = c.lastRecordSequence();
            lastEntryStart = c.entryStart();
            checkedFrom = c.entries();
            cycles.joinMidway();
            return true;
        }

        private Result entriesFrom(FileChannel ch) throws IOException {
            MessageDigest sha = AuditLog.sha256();
            ReadWindow window = new ReadWindow(ch);
            long size = ch.size();
            while (pos < size) {
                long expected = entries + 1;
                int at = window.at(pos, 4);
                long len = at < 0 ? -1 : window.bytes().getInt(at) & 0xFFFFFFFFL;
                if (at < 0 || len < MIN_LENGTH || len > MAX_LENGTH || pos + 4 + len > size) {
                    String what = at < 0 || pos + 4 + len > size
                            ? "truncated tail: entry " + expected + " is incomplete at offset " + pos
                            : "entry " + expected + " altered: entryLength " + len + " at offset " + pos;
                    return badEntry(ch, what, size);
                }
                int length = (int) (4 + len);
                at = window.at(pos, length);
                ByteBuffer b = window.bytes();
                byte[] a = b.array();
                if (!crcMatches(a, at, length)) {
                    return badEntry(ch, "entry " + expected + " altered: crc32c mismatch at offset " + pos, size);
                }
                long index = b.getLong(at + 12);
                if (index != expected) {
                    return failed(index > expected
                            ? "entry " + expected + " removed or reordered: entry " + index + " found in its place at"
                                    + " offset " + pos
                            : "entry " + index + " out of place at position " + expected + " (reordered or inserted)"
                                    + " at offset " + pos);
                }
                sha.reset();
                sha.update(prev);
                sha.update(a, at + 8, length - 8 - 32);
                byte[] hash = sha.digest();
                if (!Arrays.equals(hash, 0, 32, a, at + length - 32, at + length)) {
                    return failed("entry " + expected + " altered or inserted: hash does not chain at offset " + pos);
                }
                AuditType type = AuditType.fromWireValue(a[at + 9] & 0xFF);
                int kind = a[at + 60] & 0xFF;
                if (out != null || cycles.follows(type, kind)) {
                    AuditEntry entry = decode(b.slice(at, length), hash);
                    String cycleProblem = cycles.check(entry);
                    if (cycleProblem != null) {
                        return failed(cycleProblem);
                    }
                    if (out != null) {
                        out.accept(entry);
                    }
                }
                switch (type) {
                    case RECORD, GAP, MARK -> lastRecordSeq = Math.max(lastRecordSeq, b.getLong(at + 28));
                    case ROLLBACK, RECOVERY -> lastRecordSeq = b.getLong(at + 36);
                    default -> { }
                }
                prev = hash;
                entries++;
                lastEntryStart = pos;
                pos += length;
                if (entries == headEntries && headHash != null && !MessageDigest.isEqual(hash, headHash)) {
                    return failed("entry " + entries + " does not match the head's hash");
                }
            }
            if (entries < headEntries) {
                return failed("truncated: the log ends after entry " + entries + ", the head records " + headEntries
                        + " entries (entry " + (entries + 1) + " onwards removed)");
            }
            return result(true, false, "");
        }

        /**
         * The result for a bad entry at {@code pos}. It is a torn tail (a crash while appending:
         * a partial entry, a bad CRC, zero-filled blocks whose size reached the disk before their
         * data) when the head does not count it and no valid entry follows it, or the entries up
         * to the next valid one show a sector the cut left unwritten (unsynced appends written back
         * out of order); otherwise the log was altered or cut.
         */
        private Result badEntry(FileChannel ch, String what, long size) throws IOException {
            long next = entries + 1 > headEntries ? nextValidEntry(ch, pos, size, entries) : -1;
            // Unconfirmed entries (past the head's count) were never covered by a sync when a cut
            // left an unwritten sector among them: the page cache wrote them back out of order.
            boolean torn = entries + 1 > headEntries && (next < 0 || DurableFiles.hasUnwrittenSector(ch, pos, next));
            String problem = torn ? "torn tail: entry " + (entries + 1) + " is incomplete, damaged or zero-filled at"
                    + " offset " + pos + " (" + (size - pos) + " bytes after the last whole entry, none valid)" : what;
            return result(false, torn, problem);
        }
    }

    /** The log read 1 MiB at a time: an entry is checked where it lies in the window, not read on its own. */
    private static final class ReadWindow {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        private long start;
        private int length;

        ReadWindow(FileChannel ch) {
            this.ch = ch;
        }

        /** Where bytes [pos, pos + n) are in {@link #bytes()}, reading them if needed; -1 when the file ends first. */
        int at(long pos, int n) throws IOException {
            if (pos < start || pos + n > start + length) {
                buf.clear();
                length = DurableFiles.readUpTo(ch, buf, pos);
                start = pos;
                if (length < n) {
                    return -1;
                }
            }
            return (int) (pos - start);
        }

        ByteBuffer bytes() {
            return buf;
        }
    }

    /** Where the first entry with a valid CRC and an index above {@code afterIndex} starts after {@code badAt}, or -1. */
    private static long nextValidEntry(FileChannel ch, long badAt, long size, long afterIndex)
            throws IOException {
        ByteBuffer window = ByteBuffer.allocate(1 << 20);
        int header = 20;
        for (long start = badAt + 1; start + header <= size; start += window.capacity() - header + 1) {
            window.clear();
            int got = DurableFiles.readUpTo(ch, window, start);
            for (int i = 0; i + header <= got; i++) {
                long len = window.getInt(i) & 0xFFFFFFFFL;
                if (len < MIN_LENGTH || len > MAX_LENGTH || start + i + 4 + len > size
                        || window.get(i + 8) != AuditLog.VERSION || window.getLong(i + 12) <= afterIndex) {
                    continue;
                }
                ByteBuffer e = ByteBuffer.allocate((int) (4 + len));
                DurableFiles.readUpTo(ch, e, start + i);
                if (crcMatches(e.array(), 0, e.capacity())) {
                    return start + i;
                }
            }
        }
        return -1;
    }

    private static boolean crcMatches(byte[] a, int at, int length) {
        CRC32C crc = new CRC32C();
        crc.update(a, at + 8, length - 8);
        return (int) crc.getValue() == ByteBuffer.wrap(a, at, length).getInt(at + 4);
    }

    private static AuditEntry decode(ByteBuffer e, byte[] hash) {
        AuditType type = AuditType.fromWireValue(e.get(9) & 0xFF);
        byte[] digest = new byte[32];
        e.position(64);
        e.get(digest);
        byte[] w = new byte[e.getShort() & 0xFFFF];
        e.get(w);
        byte[] d = new byte[e.getShort() & 0xFFFF];
        e.get(d);
        return new AuditEntry(e.getLong(12), e.getLong(20), type, e.getLong(28), e.getLong(36), e.getLong(44),
                e.getLong(52), e.get(60) & 0xFF, e.getShort(62) & 0xFFFF, digest,
                new String(w, StandardCharsets.UTF_8), new String(d, StandardCharsets.UTF_8), hash);
    }
}
