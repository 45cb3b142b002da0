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
     */
    public record Result(boolean intact, boolean tornTail, String problem, long entries, long validBytes,
            byte[] lastHash, long headGeneration, long lastRecordSequence, long headEntries) {

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
        return walk(volumeDir, null);
    }

    static Result scan(Path volumeDir, List<AuditEntry> out) throws IOException {
        return walk(volumeDir, out);
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
                if (claimed != null) {
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

    private static Result walk(Path volumeDir, List<AuditEntry> out) throws IOException {
        CycleFollower cycles = new CycleFollower();
        Path dir = volumeDir.resolve(AuditLog.DIR);
        Path logFile = dir.resolve(AuditLog.LOG);
        long[] head = readHead(dir.resolve(AuditLog.HEAD));
        byte[] headHash = head == null ? null : Arrays.copyOfRange(longsToBytes(head), 16, 48);
        long headEntries = head == null ? 0 : head[1];
        long headGen = head == null ? 0 : head[0];
        byte[] prev = new byte[32];
        long entries = 0;
        long pos = 0;
        long lastRecordSeq = 0;
        if (!Files.exists(logFile)) {
            return headEntries == 0 ? new Result(true, false, "", 0, 0, prev, headGen, 0, 0)
                    : new Result(false, false, "truncated: the log is missing, the head records " + headEntries
                            + " entries", 0, 0, prev, headGen, 0, headEntries);
        }
        if (head == null && Files.size(logFile) > 0) {
            return new Result(false, false, "head: " + dir.resolve(AuditLog.HEAD) + (Files.exists(dir.resolve(
                    AuditLog.HEAD)) ? " has no valid slot" : " is missing") + " (expected: a valid head for a log"
                    + " with entries; without it a log cut at an entry boundary cannot be detected)", 0, 0, prev, 0,
                    0, 0);
        }
        MessageDigest sha = AuditLog.sha256();
        try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.READ)) {
            long size = ch.size();
            while (pos < size) {
                long expected = entries + 1;
                ByteBuffer lenBuf = ByteBuffer.allocate(4);
                int got = DurableFiles.readUpTo(ch, lenBuf, pos);
                long len = got < 4 ? -1 : lenBuf.getInt(0) & 0xFFFFFFFFL;
                if (got < 4 || len < MIN_LENGTH || len > MAX_LENGTH || pos + 4 + len > size) {
                    String what = got < 4 || pos + 4 + len > size
                            ? "truncated tail: entry " + expected + " is incomplete at offset " + pos
                            : "entry " + expected + " altered: entryLength " + len + " at offset " + pos;
                    return badEntry(ch, what, entries, pos, size, prev, headGen, lastRecordSeq, headEntries);
                }
                ByteBuffer e = ByteBuffer.allocate((int) (4 + len));
                DurableFiles.readUpTo(ch, e, pos);
                byte[] a = e.array();
                if (!crcMatches(a)) {
                    return badEntry(ch, "entry " + expected + " altered: crc32c mismatch at offset " + pos, entries,
                            pos, size, prev, headGen, lastRecordSeq, headEntries);
                }
                long index = e.getLong(12);
                if (index != expected) {
                    String what = index > expected
                            ? "entry " + expected + " removed or reordered: entry " + index + " found in its place at offset "
                                    + pos
                            : "entry " + index + " out of place at position " + expected + " (reordered or inserted) at offset "
                                    + pos;
                    return new Result(false, false, what, entries, pos, prev, headGen, lastRecordSeq, headEntries);
                }
                sha.reset();
                sha.update(prev);
                sha.update(a, 8, a.length - 8 - 32);
                byte[] hash = sha.digest();
                if (!MessageDigest.isEqual(hash, Arrays.copyOfRange(a, a.length - 32, a.length))) {
                    return new Result(false, false, "entry " + expected + " altered or inserted: hash does not chain"
                            + " at offset " + pos, entries, pos, prev, headGen, lastRecordSeq, headEntries);
                }
                AuditEntry entry = decode(e, hash);
                String cycleProblem = cycles.check(entry);
                if (cycleProblem != null) {
                    return new Result(false, false, cycleProblem, entries, pos, prev, headGen, lastRecordSeq,
                            headEntries);
                }
                switch (entry.type()) {
                    case RECORD, GAP, MARK -> lastRecordSeq = Math.max(lastRecordSeq, entry.sequence());
                    case ROLLBACK, RECOVERY -> lastRecordSeq = entry.captureTimeNanos();
                    default -> { }
                }
                if (out != null) {
                    out.add(entry);
                }
                prev = hash;
                entries++;
                pos += 4 + len;
                if (entries == headEntries && headHash != null && !MessageDigest.isEqual(hash, headHash)) {
                    return new Result(false, false, "entry " + entries + " does not match the head's hash", entries,
                            pos, prev, headGen, lastRecordSeq, headEntries);
                }
            }
        }
        if (entries < headEntries) {
            return new Result(false, false, "truncated: the log ends after entry " + entries + ", the head records "
                    + headEntries + " entries (entry " + (entries + 1) + " onwards removed)", entries, pos, prev,
                    headGen, lastRecordSeq, headEntries);
        }
        return new Result(true, false, "", entries, pos, prev, headGen, lastRecordSeq, headEntries);
    }

    /**
     * The result for a bad entry at {@code pos}. It is a torn tail (a crash while appending:
     * a partial entry, a bad CRC, zero-filled blocks whose size reached the disk before their
     * data) when the head does not count it and no valid entry follows it, or the entries up
     * to the next valid one show a sector the cut left unwritten (unsynced appends written back
     * out of order); otherwise the log was altered or cut.
     */
    private static Result badEntry(FileChannel ch, String what, long entries, long pos, long size, byte[] prev,
            long headGen, long lastRecordSeq, long headEntries) throws IOException {
        long next = entries + 1 > headEntries ? nextValidEntry(ch, pos, size, entries) : -1;
        // Unconfirmed entries (past the head's count) were never covered by a sync when a cut
        // left an unwritten sector among them: the page cache wrote them back out of order.
        boolean torn = entries + 1 > headEntries && (next < 0 || DurableFiles.hasUnwrittenSector(ch, pos, next));
        String problem = torn ? "torn tail: entry " + (entries + 1) + " is incomplete, damaged or zero-filled at"
                + " offset " + pos + " (" + (size - pos) + " bytes after the last whole entry, none valid)" : what;
        return new Result(false, torn, problem, entries, pos, prev, headGen, lastRecordSeq, headEntries);
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
                if (crcMatches(e.array())) {
                    return start + i;
                }
            }
        }
        return -1;
    }

    private static boolean crcMatches(byte[] entry) {
        CRC32C crc = new CRC32C();
        crc.update(entry, 8, entry.length - 8);
        return (int) crc.getValue() == ByteBuffer.wrap(entry).getInt(4);
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

    /** [generation, entries, hash as 4 longs] of the valid slot with the higher generation; null if none. */
    private static long[] readHead(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        long[] best = null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int slot = 0; slot < 2; slot++) {
                ByteBuffer s = ByteBuffer.allocate(AuditLog.SLOT);
                if (DurableFiles.readUpTo(ch, s, (long) slot * AuditLog.SLOT) < AuditLog.SLOT || s.getInt(0) != AuditLog.HEAD_MAGIC) {
                    continue;
                }
                CRC32C crc = new CRC32C();
                crc.update(s.array(), 0, 56);
                if ((int) crc.getValue() != s.getInt(56) || (s.getShort(4) & 0xFFFF) != AuditLog.VERSION) {
                    continue;
                }
                long gen = s.getLong(8);
                if (best == null || gen > best[0]) {
                    best = new long[] {gen, s.getLong(16), s.getLong(24), s.getLong(32), s.getLong(40), s.getLong(48)};
                }
            }
        }
        return best;
    }

    private static byte[] longsToBytes(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }
}
