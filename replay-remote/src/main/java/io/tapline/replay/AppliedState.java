package io.tapline.replay;

import io.tapline.log.DurableFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The {@code applied.state} file of a replicated volume: the last durably applied sequence and
 * the replica's {@link SyncState} (out of sync, resyncing, last consistent sequence). Two
 * 512-byte slots, overwritten in place alternately (slot = generation mod 2) and fdatasync'd; a
 * write torn by a crash damages only the slot being written, and the other still holds the
 * previous state. Reading picks the valid slot with the higher generation. Big-endian.
 *
 * <pre>
 * slot (at offset 0 or 512), version 4
 * offset size field
 *  0      4   magic                0x54504153 ("TPAS")
 *  4      2   version              4 (versions 1 to 3 are read: their crc32c was at 32, 48 and 56,
 *                                  the last record's CRC is unknown before 3, and before 4 the
 *                                  consistent run is taken to start at consistentSequence and
 *                                  every rollback to be exact)
 *  6      2   flags                bit 0 OUT_OF_SYNC, bit 1 RESYNCING, bit 2 COVERED_BY_RESYNC,
 *                                  bit 3 GAP_DURING_RESYNC
 *  8      8   generation           +1 per write
 * 16      8   lastAppliedSequence
 * 24      8   firstGapSequence     sequence of the first unhealed GAP, 0 if none
 * 32      8   consistentSequence   newest sequence at which the replica was consistent
 * 40      8   resyncId             the resync epoch being applied, 0 if none
 * 48      8   lastRecordCrc        CRC-32C of the last applied record (unsigned), -1 if unknown
 * 56      8   consistentSince      first sequence of the consistent run ending at consistentSequence,
 *                                  -1 when no consistent point is known
 * 64      8   exactFrom            oldest sequence a rollback rebuilds exactly (written outside the
 *                                  log before it), 0 if every one does
 * 72      4   runCount             earlier consistent runs kept, 0..24, oldest first
 * 76    384   runs                 runCount pairs (since, until), 8 bytes each, then zero
 * 460     4   crc32c               CRC-32C of bytes [0, 460)
 * 464    48   zero
 * </pre>
 *
 * <p>Not thread-safe: used by the volume's apply thread only.
 */
final class AppliedState implements Closeable {
    static final String FILE = "applied.state";
    static final int MAGIC = 0x54504153;
    static final int VERSION = 4;
    static final int SLOT_BYTES = 512;
    private static final int FLAG_OUT_OF_SYNC = 1;
    private static final int FLAG_RESYNCING = 2;
    private static final int FLAG_COVERED = 4;
    private static final int FLAG_GAP_DURING_RESYNC = 8;
    private static final int V1_CRC_AT = 32;
    private static final int V2_CRC_AT = 48;
    private static final int V3_CRC_AT = 56;
    private static final int V4_RUNS_AT = 72;
    private static final int V4_CRC_AT = V4_RUNS_AT + 4 + 16 * ConsistentRuns.MAX;

    private final Path file;
    private final FileChannel channel;
    private long generation;
    private long lastApplied;
    private SyncState sync = SyncState.consistentAt(0);
    private long lastRecordCrc = -1;
    /** A valid slot of an older format version was read: the next persist writes both slots. */
    private boolean olderVersionSlot;

    private AppliedState(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Opens {@code dir/applied.state}, creating it (durably, at sequence 0) when missing. */
    static AppliedState open(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            ByteBuffer initial = ByteBuffer.allocate(2 * SLOT_BYTES);
            writeSlot(initial, 0, 0, 0, SyncState.consistentAt(0), -1);
            DurableFiles.replace(file, initial.array());
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        AppliedState state = new AppliedState(file, ch);
        try {
            state.load();
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return state;
    }

    /** Reads the state of {@code dir} without changing anything; null when there is none. */
    static VolumeStatus peek(Path dir, String volumeId) throws IOException {
        Durable d = peekDurable(dir);
        return d == null ? null : VolumeStatus.of(volumeId, d.lastApplied(), d.sync(), null, 0, false);
    }

    /** The durable applied sequence and sync state of {@code dir}, read without changing anything; null when none. */
    static Durable peekDurable(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            AppliedState state = new AppliedState(file, ch);
            state.load();
            return new Durable(state.lastApplied, state.sync);
        }
    }

    /** What {@code applied.state} holds: the last applied sequence and the replica's sync state there. */
    record Durable(long lastApplied, SyncState sync) {
    }

    private void load() throws IOException {
        ByteBuffer all = ByteBuffer.allocate(2 * SLOT_BYTES);
        int n = 0;
        while (all.hasRemaining() && n >= 0) {
            n = channel.read(all, all.position());
        }
        all.flip();
        String[] problems = new String[2];
        long bestGeneration = -1;
        for (int slot = 0; slot < 2; slot++) {
            if (all.limit() < (slot + 1) * SLOT_BYTES) {
                problems[slot] = "slot " + slot + ": missing (file is " + all.limit() + " bytes)";
                continue;
            }
            ByteBuffer s = all.duplicate().position(slot * SLOT_BYTES).limit((slot + 1) * SLOT_BYTES).slice();
            problems[slot] = check(s, slot);
            if (problems[slot] == null && (s.getShort(4) & 0xFFFF) < VERSION) {
                olderVersionSlot = true;
            }
            if (problems[slot] == null && s.getLong(8) > bestGeneration) {
                bestGeneration = s.getLong(8);
                generation = bestGeneration;
                lastApplied = s.getLong(16);
                sync = readSync(s, lastApplied);
                lastRecordCrc = (s.getShort(4) & 0xFFFF) >= 3 ? s.getLong(48) : -1;
            }
        }
        if (bestGeneration < 0) {
            throw new IOException("corrupt applied state " + file + ": " + problems[0] + "; " + problems[1]
                    + "; the replica's progress is unknown: stop the replayer, move " + file.getFileName()
                    + " aside and start it again (the volume then restarts at seq 0: what its undo log holds is"
                    + " undone and the source's full resync brings the replica back)");
        }
    }

    private static String check(ByteBuffer s, int slot) {
        int magic = s.getInt(0);
        if (magic != MAGIC) {
            return String.format("slot %d magic: 0x%08x (expected: 0x%08x)", slot, magic, MAGIC);
        }
        int version = s.getShort(4) & 0xFFFF;
        if (version < 1 || version > VERSION) {
            return "slot " + slot + " version: " + version + " (expected: 1.." + VERSION + ")";
        }
        int crcAt = version == 1 ? V1_CRC_AT : version == 2 ? V2_CRC_AT : version == 3 ? V3_CRC_AT : V4_CRC_AT;
        int stored = s.getInt(crcAt);
        CRC32C crc = new CRC32C();
        crc.update(s.duplicate().position(0).limit(crcAt));
        if ((int) crc.getValue() != stored) {
            return String.format("slot %d crc32c: 0x%08x (expected: 0x%08x)", slot, (int) crc.getValue(), stored);
        }
        return null;
    }

    private static SyncState readSync(ByteBuffer s, long lastApplied) {
        int flags = s.getShort(6);
        boolean outOfSync = (flags & FLAG_OUT_OF_SYNC) != 0;
        long firstGap = s.getLong(24);
        int version = s.getShort(4) & 0xFFFF;
        if (version == 1) {
            long consistent = outOfSync ? Math.max(0, firstGap - 1) : lastApplied;
            return new SyncState(outOfSync, false, false, false, outOfSync ? firstGap : 0, consistent, 0, consistent,
                    0, ConsistentRuns.NONE);
        }
        long consistent = s.getLong(32);
        long since;
        long exactFrom = 0;
        ConsistentRuns runs = ConsistentRuns.NONE;
        if (version >= 4) {
            since = s.getLong(56);
            exactFrom = s.getLong(64);
            runs = readRuns(s);
        } else {
            // Before version 4 no run was kept: only its last point is known consistent.
            since = outOfSync && consistent == 0 ? -1 : consistent;
        }
        return new SyncState(outOfSync, (flags & FLAG_RESYNCING) != 0, (flags & FLAG_COVERED) != 0,
                (flags & FLAG_GAP_DURING_RESYNC) != 0, firstGap, consistent, s.getLong(40), since, exactFrom, runs);
    }

    private static ConsistentRuns readRuns(ByteBuffer s) {
        int n = s.getInt(V4_RUNS_AT);
        if (n < 0 || n > ConsistentRuns.MAX) {
            return ConsistentRuns.NONE; // inside a slot whose CRC matched: cannot happen unless written so
        }
        long[] bounds = new long[2 * n];
        for (int i = 0; i < bounds.length; i++) {
            bounds[i] = s.getLong(V4_RUNS_AT + 4 + 8 * i);
        }
        return ConsistentRuns.of(bounds);
    }

    private static void writeSlot(ByteBuffer dst, int at, long generation, long lastApplied, SyncState sync,
            long lastRecordCrc) {
        ByteBuffer s = dst.duplicate().position(at).limit(at + SLOT_BYTES).slice();
        int flags = (sync.outOfSync() ? FLAG_OUT_OF_SYNC : 0) | (sync.resyncing() ? FLAG_RESYNCING : 0)
                | (sync.coveredByResync() ? FLAG_COVERED : 0) | (sync.gapDuringResync() ? FLAG_GAP_DURING_RESYNC : 0);
        s.putInt(MAGIC).putShort((short) VERSION).putShort((short) flags)
                .putLong(generation).putLong(lastApplied).putLong(sync.firstGapSequence())
                .putLong(sync.consistentSequence()).putLong(sync.resyncId()).putLong(lastRecordCrc)
                .putLong(sync.consistentSince()).putLong(sync.exactFrom());
        ConsistentRuns runs = sync.earlierRuns();
        s.putInt(runs.count());
        for (int i = 0; i < runs.count(); i++) {
            s.putLong(runs.since(i)).putLong(runs.until(i));
        }
        CRC32C crc = new CRC32C();
        crc.update(s.duplicate().position(0).limit(V4_CRC_AT));
        s.putInt(V4_CRC_AT, (int) crc.getValue());
    }

    /** As {@link #persist(long, SyncState)} for a replica that is consistent, or out of sync since {@code newFirstGap}. */
    void persist(long newLastApplied, boolean newOutOfSync, long newFirstGap) throws IOException {
        persist(newLastApplied, newOutOfSync
                ? new SyncState(true, false, false, false, newFirstGap, Math.max(0, newFirstGap - 1), 0,
                        Math.max(0, newFirstGap - 1), 0, ConsistentRuns.NONE)
                : SyncState.consistentAt(newLastApplied));
    }

    /**
     * Durably records the new state (fdatasync before returning); the last record's CRC stays when
     * the applied sequence does, and becomes unknown when it moves (a rollback).
     */
    void persist(long newLastApplied, SyncState newSync) throws IOException {
        persist(newLastApplied, newSync, newLastApplied == lastApplied ? lastRecordCrc : -1);
    }

    /** Durably records the new state with the CRC of the record at {@code newLastApplied} ({@code -1}: unknown). */
    void persist(long newLastApplied, SyncState newSync, long newLastRecordCrc) throws IOException {
        long next = generation + 1;
        ByteBuffer slot = ByteBuffer.allocate(SLOT_BYTES);
        writeSlot(slot, 0, next, newLastApplied, newSync, newLastRecordCrc);
        long position = (next % 2) * SLOT_BYTES;
        while (slot.hasRemaining()) {
            position += channel.write(slot, position);
        }
        channel.force(false);
        generation = next;
        lastApplied = newLastApplied;
        sync = newSync;
        lastRecordCrc = newLastRecordCrc;
        if (olderVersionSlot) {
            // The other slot still holds an older build's state: written again here, so that an older build started
            // on this folder finds no slot it can read and refuses it, instead of taking that stale slot for the
            // replica's state (probe Z D1: a rollback by this build undone in an older one's eyes, status synced).
            olderVersionSlot = false;
            persist(newLastApplied, newSync, newLastRecordCrc);
        }
    }

    /** CRC-32C (unsigned) of the last applied record, {@code -1} when unknown. */
    long lastRecordCrc() {
        return lastRecordCrc;
    }

    long lastApplied() {
        return lastApplied;
    }

    SyncState sync() {
        return sync;
    }

    boolean outOfSync() {
        return !sync.consistent();
    }

    long firstGapSequence() {
        return sync.firstGapSequence();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
