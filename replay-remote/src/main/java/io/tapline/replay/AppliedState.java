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
 * whether the replica is out of sync. Two 512-byte slots, overwritten in place alternately
 * (slot = generation mod 2) and fdatasync'd; a write torn by a crash damages only the slot being
 * written, and the other still holds the previous state. Reading picks the valid slot with the
 * higher generation. Big-endian.
 *
 * <pre>
 * slot (at offset 0 or 512)
 * offset size field
 *  0      4   magic                0x54504153 ("TPAS")
 *  4      2   version              1
 *  6      2   flags                bit 0 OUT_OF_SYNC
 *  8      8   generation           +1 per write
 * 16      8   lastAppliedSequence
 * 24      8   firstGapSequence     sequence of the first GAP applied, 0 if none
 * 32      4   crc32c               CRC-32C of bytes [0, 32)
 * 36    476   zero
 * </pre>
 *
 * <p>Not thread-safe: used by the volume's apply thread only.
 */
final class AppliedState implements Closeable {
    static final String FILE = "applied.state";
    static final int MAGIC = 0x54504153;
    static final int VERSION = 1;
    static final int SLOT_BYTES = 512;
    private static final int FLAG_OUT_OF_SYNC = 1;

    private final Path file;
    private final FileChannel channel;
    private long generation;
    private long lastApplied;
    private long firstGapSequence;
    private boolean outOfSync;

    private AppliedState(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Opens {@code dir/applied.state}, creating it (durably, at sequence 0) when missing. */
    static AppliedState open(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            ByteBuffer initial = ByteBuffer.allocate(2 * SLOT_BYTES);
            writeSlot(initial, 0, 0, 0, false, 0);
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
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            AppliedState state = new AppliedState(file, ch);
            state.load();
            return new VolumeStatus(volumeId, state.lastApplied, state.outOfSync, 0, false);
        }
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
            if (problems[slot] == null && s.getLong(8) > bestGeneration) {
                bestGeneration = s.getLong(8);
                generation = bestGeneration;
                outOfSync = (s.getShort(6) & FLAG_OUT_OF_SYNC) != 0;
                lastApplied = s.getLong(16);
                firstGapSequence = s.getLong(24);
            }
        }
        if (bestGeneration < 0) {
            throw new IOException("corrupt applied state " + file + ": " + problems[0] + "; " + problems[1]
                    + "; the replica's progress is unknown: resync the volume");
        }
    }

    private static String check(ByteBuffer s, int slot) {
        int magic = s.getInt(0);
        if (magic != MAGIC) {
            return String.format("slot %d magic: 0x%08x (expected: 0x%08x)", slot, magic, MAGIC);
        }
        int stored = s.getInt(32);
        CRC32C crc = new CRC32C();
        crc.update(s.duplicate().position(0).limit(32));
        if ((int) crc.getValue() != stored) {
            return String.format("slot %d crc32c: 0x%08x (expected: 0x%08x)", slot, (int) crc.getValue(), stored);
        }
        int version = s.getShort(4) & 0xFFFF;
        if (version != VERSION) {
            return "slot " + slot + " version: " + version + " (expected: " + VERSION + ".." + VERSION + ")";
        }
        return null;
    }

    private static void writeSlot(ByteBuffer dst, int at, long generation, long lastApplied, boolean outOfSync,
            long firstGap) {
        ByteBuffer s = dst.duplicate().position(at).limit(at + SLOT_BYTES).slice();
        s.putInt(MAGIC).putShort((short) VERSION).putShort((short) (outOfSync ? FLAG_OUT_OF_SYNC : 0))
                .putLong(generation).putLong(lastApplied).putLong(firstGap);
        CRC32C crc = new CRC32C();
        crc.update(s.duplicate().flip());
        s.putInt((int) crc.getValue());
    }

    /** Durably records the new state (fdatasync before returning). */
    void persist(long newLastApplied, boolean newOutOfSync, long newFirstGap) throws IOException {
        long next = generation + 1;
        ByteBuffer slot = ByteBuffer.allocate(SLOT_BYTES);
        writeSlot(slot, 0, next, newLastApplied, newOutOfSync, newFirstGap);
        long position = (next % 2) * SLOT_BYTES;
        while (slot.hasRemaining()) {
            position += channel.write(slot, position);
        }
        channel.force(false);
        generation = next;
        lastApplied = newLastApplied;
        outOfSync = newOutOfSync;
        firstGapSequence = newFirstGap;
    }

    long lastApplied() {
        return lastApplied;
    }

    boolean outOfSync() {
        return outOfSync;
    }

    long firstGapSequence() {
        return firstGapSequence;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
