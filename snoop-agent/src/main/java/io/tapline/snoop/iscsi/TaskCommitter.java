package io.tapline.snoop.iscsi;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.snoop.volume.SnoopSink;
import java.util.Arrays;

/**
 * Turns a write-nature SCSI command that completed with status GOOD into what it did to the
 * volume (SBC-4 §5): WRITE/WRITE AND VERIFY and the written half of COMPARE AND WRITE become
 * WRITE; WRITE SAME becomes WRITE_ZEROES, DISCARD (UNMAP bit) or a pattern WRITE; UNMAP's
 * block descriptors (§5.32.2) become DISCARDs; SYNCHRONIZE CACHE a FLUSH; FORMAT UNIT a GAP over
 * the whole volume. A command whose data was not all seen becomes a GAP over its range.
 *
 * <p>A write-nature command that the target did not confirm (failed status, abort by task
 * management, no response before the connection ended) becomes a GAP over what it may have
 * changed ({@link #unconfirmed}): the target may have applied all or part of it, so the replica
 * is out of sync there until a resync compares the range. SYNCHRONIZE CACHE changes no data.
 */
final class TaskCommitter {
    private static final int PATTERN_CHUNK_BYTES = 8 << 20;

    private final SnoopSink sink;
    private final LunGeometry geometry;

    TaskCommitter(SnoopSink sink, LunGeometry geometry) {
        this.sink = sink;
        this.geometry = geometry;
    }

    void commit(IscsiTask task, Provenance provenance) {
        ScsiCommand c = task.command;
        long bs = geometry.blockSize(task.volume);
        long offset = c.lba() * bs;
        long length = c.blocks() * bs;
        switch (c.nature()) {
            case WRITE -> write(task, provenance, offset, length, 0);
            case COMPARE_AND_WRITE -> write(task, provenance, offset, length, length);
            case WRITE_SAME -> writeSame(task, provenance, offset, c.blocks() == 0 ? toEnd(task, offset) : length, bs);
            case UNMAP -> unmap(task, provenance, bs);
            case SYNCHRONIZE_CACHE -> sink.completed(task.volume, RecordKind.FLUSH, 0, 0, 0, provenance, null);
            case FORMAT_UNIT -> sink.gap(task.volume, 0, SnoopSink.WHOLE_VOLUME, "FORMAT UNIT completed");
            default -> throw new IllegalStateException("nature: " + c.nature() + " (expected: a write-nature command)");
        }
    }

    /**
     * A write-nature command that was not confirmed with GOOD: a GAP over every range it may have
     * changed (the whole volume when that range is unknown), never its data.
     *
     * @return whether a GAP was recorded (false for SYNCHRONIZE CACHE, which changes no data)
     */
    boolean unconfirmed(IscsiTask task, String why) {
        ScsiCommand c = task.command;
        if (c.nature() == ScsiCommand.Nature.SYNCHRONIZE_CACHE || !c.writeNature()) {
            return false; // no data changed, nothing to mark
        }
        String reason = "write not confirmed by the target, it may have applied it: " + why + " itt=0x"
                + Integer.toHexString(task.itt) + " opcode=0x" + Integer.toHexString(c.opcode());
        long[] ranges = ranges(task);
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            sink.gap(task.volume, ranges[i], ranges[i + 1], reason);
        }
        return true;
    }

    /**
     * The byte ranges {@code task} changed or may have changed, as {offset, length} pairs ({0,
     * {@link SnoopSink#WHOLE_VOLUME}} when they are unknown); none for SYNCHRONIZE CACHE. What an
     * unconfirmed command marks, and what a command in flight with others is compared by.
     */
    long[] ranges(IscsiTask task) {
        ScsiCommand c = task.command;
        long bs = geometry.blockSize(task.volume);
        long offset = c.lba() * bs;
        long[] whole = {0, SnoopSink.WHOLE_VOLUME};
        switch (c.nature()) {
            case WRITE, COMPARE_AND_WRITE -> {
                return new long[] {offset, c.blocks() * bs};
            }
            case WRITE_SAME -> {
                long length = c.blocks() == 0 ? toEnd(task, offset) : c.blocks() * bs;
                return length < 0 ? whole : new long[] {offset, length};
            }
            case UNMAP -> {
                java.util.List<long[]> out = new java.util.ArrayList<>();
                boolean[] unknown = {false};
                unmapRanges(task, (o, l) -> out.add(new long[] {o, l}), () -> unknown[0] = true, bs);
                if (unknown[0]) {
                    return whole;
                }
                long[] flat = new long[out.size() * 2];
                for (int i = 0; i < out.size(); i++) {
                    flat[2 * i] = out.get(i)[0];
                    flat[2 * i + 1] = out.get(i)[1];
                }
                return flat;
            }
            case FORMAT_UNIT -> {
                return whole;
            }
            default -> {
                return new long[0];
            }
        }
    }

    private void write(IscsiTask task, Provenance p, long offset, long length, long dataStart) {
        if (task.complete() && task.expectedBytes != dataStart + length) {
            // The host's Expected Data Transfer Length is not what the CDB's blocks need (a residual
            // over- or underflow): what the target wrote past the data it got is its own choice.
            sink.gap(task.volume, offset, length, "write's Expected Data Transfer Length " + task.expectedBytes
                    + " bytes differs from the " + (dataStart + length) + " bytes its CDB names: itt=0x"
                    + Integer.toHexString(task.itt));
            return;
        }
        if (!task.complete()) {
            incomplete(task, offset, length);
            return;
        }
        byte[] payload = dataStart == 0 && task.data.length == length ? task.data
                : Arrays.copyOfRange(task.data, (int) dataStart, (int) (dataStart + length));
        sink.completed(task.volume, RecordKind.WRITE, offset, length, task.command.fua() ? CaptureRecord.FLAG_FUA : 0,
                p, payload);
    }

    private void writeSame(IscsiTask task, Provenance p, long offset, long length, long bs) {
        ScsiCommand c = task.command;
        if (length < 0) {
            sink.gap(task.volume, offset, SnoopSink.WHOLE_VOLUME, "WRITE SAME to the end of an unknown-size volume");
            return;
        }
        if (c.unmap()) {
            sink.completed(task.volume, RecordKind.DISCARD, offset, length, 0, p, null);
            return;
        }
        if (c.ndob() || (task.complete() && allZero(task.data))) {
            sink.completed(task.volume, RecordKind.WRITE_ZEROES, offset, length, CaptureRecord.FLAG_NO_HOLE, p, null);
            return;
        }
        if (!task.complete() || task.data.length != bs) {
            incomplete(task, offset, length);
            return;
        }
        for (long done = 0; done < length; ) {
            int chunk = (int) Math.min(length - done, PATTERN_CHUNK_BYTES);
            byte[] payload = new byte[chunk];
            for (int i = 0; i < chunk; i += (int) bs) {
                System.arraycopy(task.data, 0, payload, i, (int) bs);
            }
            sink.completed(task.volume, RecordKind.WRITE, offset + done, chunk, 0, p, payload);
            done += chunk;
        }
    }

    private void unmap(IscsiTask task, Provenance p, long bs) {
        unmapRanges(task, (o, l) -> sink.completed(task.volume, RecordKind.DISCARD, o, l, 0, p, null),
                () -> sink.gap(task.volume, 0, SnoopSink.WHOLE_VOLUME, "UNMAP parameter list not fully seen"), bs);
    }

    /** UNMAP's block descriptors (SBC-4 §5.32.2) as byte ranges, or {@code unknown} when the list was not all seen. */
    private static void unmapRanges(IscsiTask task, java.util.function.BiConsumer<Long, Long> range, Runnable unknown,
            long bs) {
        if (!task.complete() || task.data.length < 8) {
            unknown.run();
            return;
        }
        byte[] d = task.data;
        int descriptorBytes = ScsiCommand.u16(d, 2);
        for (int at = 8; at + 16 <= Math.min(d.length, 8 + descriptorBytes); at += 16) {
            long lba = ScsiCommand.u64(d, at);
            long blocks = ScsiCommand.u32(d, at + 8);
            if (blocks > 0) {
                range.accept(lba * bs, blocks * bs);
            }
        }
    }

    private long toEnd(IscsiTask task, long offset) {
        long size = geometry.sizeBytes(task.volume);
        return size < 0 ? -1 : Math.max(0, size - offset);
    }

    private void incomplete(IscsiTask task, long offset, long length) {
        sink.gap(task.volume, offset, length, "write completed GOOD but its data was not fully captured: itt=0x"
                + Integer.toHexString(task.itt) + " received=" + task.receivedBytes + " expected=" + task.expectedBytes);
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
