package io.tapline.log.undo;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Takes the before-images of a batch of records before any of them is written, so that one
 * undo-log sync covers the whole batch.
 *
 * <p>The before-image of record N must be the range as it is after records before N were
 * applied. Since none is applied yet, it is read from the replica and then overlaid, in order,
 * with every earlier record of the batch that overlaps it. Example: seq 7 WRITE [0,4) "bbbb",
 * seq 8 WRITE [2,6): the before-image of 8 is the replica's [2,6) with [2,4) replaced by "bb".
 *
 * <p>Each byte is copied twice on its way to the undo log's page cache: the replica is read
 * into a direct window kept by the instance (one pread for a run of contiguous records, through
 * {@link VolumeFile#readWithoutReadahead}), and the undo log copies each record's slice of it into
 * its pending buffer. Overlays are made in the window itself: the window's bytes for record N then
 * hold records before N, and the overlay for a later record M re-applies records before M in
 * order, which gives the same bytes.
 *
 * <p>A window of at least {@link #HOLE_CHECK_BYTES} that lies in a hole of the replica (a sparse
 * replica's first writes: an initial copy, a thin volume filling up) is not read, on file systems
 * whose answer sees the writes still in the page cache ({@link VolumeFile#holesSeeWrites}; on
 * others {@link VolumeFile#isHole} answers no and every window is read): its
 * records get zero before-images, the records the undo log makes of an all-zero range anyway.
 * Reading a hole costs the kernel a zeroed page-cache page per 4 KiB and a copy of it, then a
 * scan for zeroes (the kernel's zeroing alone was 19 % of the replayer's samples while a host
 * wrote 1 MiB sequentially into a new volume); the replica's write then allocates the pages
 * itself, so the net saving is smaller: 5-11 % of the apply's CPU
 * (docs/benchmarks.md#hole-before-images).
 *
 * <p>An instance is owned by one thread (a volume's apply thread); the replica is only read.
 */
public final class BeforeImages {
    /** Largest replica range read in one go for a run of contiguous records. */
    static final int WINDOW_BYTES = 8 << 20;
    /**
     * Windows from this size on are first asked whether they lie in a hole of the replica
     * ({@link VolumeFile#isHole}, one {@code lseek}); a hole is not read. Below it the read of a
     * hole costs about what the question does.
     */
    static final int HOLE_CHECK_BYTES = 64 << 10;
    private static final byte[] ZEROES = new byte[64 << 10];
    private ByteBuffer window = ByteBuffer.allocateDirect(0);

    /** A reader with an empty window; the window grows to the longest run read, up to 8 MiB. */
    public BeforeImages() {
    }

    /**
     * Appends to {@code undo}, in order, one or more undo records for each of {@code records}
     * (which are in sequence order and not yet applied). Kinds that change no data get a note.
     * A convenience for callers without an instance of their own: the window is not kept.
     */
    public static void append(VolumeFile replica, List<CaptureRecord> records, UndoLog undo) throws IOException {
        new BeforeImages().take(replica, records, undo);
    }

    /**
     * Appends to {@code undo}, in order, one or more undo records for each of {@code records}
     * (which are in sequence order and not yet applied). Kinds that change no data get a note.
     */
    public void take(VolumeFile replica, List<CaptureRecord> records, UndoLog undo) throws IOException {
        long[] windowEnds = windowEnds(records);
        prefetchSmallWindows(replica, smallWindows(records, windowEnds));
        long windowOffset = 0;
        int windowLength = 0; // nothing of this batch read yet
        boolean windowIsHole = false;
        int[][] partners = overlapClusters(records);
        for (int n = 0; n < records.size(); n++) {
            CaptureRecord r = records.get(n);
            if (!r.kind().changesData() || r.lengthBytes() == 0) {
                undo.append(UndoRecord.note(r.sequence(), r.captureTimeNanos(), r.kind()));
                continue;
            }
            long end = r.offsetBytes() + r.lengthBytes();
            if (r.lengthBytes() > WINDOW_BYTES) {
                appendLong(replica, records, n, undo); // a large TRIM or WRITE_ZEROES: chunk by chunk
                continue;
            }
            if (windowEnds[n] >= 0) {
                // One pread for this record and the records right after it that continue its range
                // (a sequential stream of small writes), instead of one per record.
                windowLength = (int) (windowEnds[n] - r.offsetBytes());
                windowOffset = r.offsetBytes();
                if (window.capacity() < windowLength) {
                    window = ByteBuffer.allocateDirect(Math.max(windowLength, Math.min(WINDOW_BYTES, 2 * window.capacity())));
                }
                windowIsHole = windowLength >= HOLE_CHECK_BYTES && replica.isHole(windowOffset, windowLength);
                if (!windowIsHole) {
                    replica.readWithoutReadahead(windowOffset, window.clear().limit(windowLength));
                } else if (partners != null) {
                    fillWithZeroes(window.clear().limit(windowLength)); // overlays are made in the window
                }
            }
            boolean overlaid = partners != null && partners[n] != null;
            if (windowIsHole && !overlaid) {
                // Nothing overlays this record's range in the window: its before-image is the hole,
                // in the zero records a read would have given (one per 1 MiB).
                for (long pos = r.offsetBytes(); pos < end; pos += UndoSegment.MAX_DATA_BYTES) {
                    long len = Math.min(UndoSegment.MAX_DATA_BYTES, end - pos);
                    undo.append(new UndoRecord(r.sequence(), r.captureTimeNanos(), r.kind(), pos, len, true, null));
                }
                continue;
            }
            for (long pos = r.offsetBytes(); pos < end; pos += UndoSegment.MAX_DATA_BYTES) {
                int len = (int) Math.min(UndoSegment.MAX_DATA_BYTES, end - pos);
                int from = (int) (pos - windowOffset);
                ByteBuffer old = window.duplicate().limit(from + len).position(from);
                if (overlaid) {
                    overlay(old, pos, records, partners[n], n);
                }
                undo.appendBeforeImage(r.sequence(), r.captureTimeNanos(), r.kind(), pos, old);
            }
        }
    }

    /**
     * Asks the kernel to start reading, all at once, the small windows {@link #take} then reads one
     * after the other ({@link VolumeFile#prefetch}): the before-images of scattered small writes
     * on a replica larger than memory are each a random read from the disk, and read one at a time
     * they took the apply thread 8.5 s of every 10 s under 12,800 random 4 KiB writes a second
     * (docs/benchmarks.md#before-image-prefetch); asked for together, the disk serves them with many
     * in flight. Windows of {@link #HOLE_CHECK_BYTES} or more are left to their one large read (and
     * their hole check). Cached pages cost the kernel a lookup each.
     */
    private static void prefetchSmallWindows(VolumeFile replica, List<long[]> windows) {
        if (windows.size() < 2) {
            return; // one read gains nothing from being asked for first
        }
        for (long[] w : windows) {
            replica.prefetch(w[0], w[1] - w[0]);
        }
    }

    /**
     * Where {@link #take} reads: for each record, the end of the window it reads starting at that
     * record's offset (the record and the records right after it that continue its range), or -1
     * where it reads none (a record that changes no data, one longer than a window, or one inside
     * the window read last).
     */
    private static long[] windowEnds(List<CaptureRecord> records) {
        long[] ends = new long[records.size()];
        long windowStart = 0;
        long windowEnd = 0;
        for (int n = 0; n < records.size(); n++) {
            CaptureRecord r = records.get(n);
            ends[n] = -1;
            long end = r.offsetBytes() + r.lengthBytes();
            if (!r.kind().changesData() || r.lengthBytes() == 0 || r.lengthBytes() > WINDOW_BYTES
                    || (r.offsetBytes() >= windowStart && end <= windowEnd)) {
                continue;
            }
            windowStart = r.offsetBytes();
            windowEnd = runEnd(records, n);
            ends[n] = windowEnd;
        }
        return ends;
    }

    /**
     * The windows {@link #take} reads for {@code records} that are under {@link #HOLE_CHECK_BYTES},
     * as {@code {start, end}}, in the order it reads them.
     */
    static List<long[]> smallWindows(List<CaptureRecord> records) {
        return smallWindows(records, windowEnds(records));
    }

    private static List<long[]> smallWindows(List<CaptureRecord> records, long[] windowEnds) {
        List<long[]> windows = new ArrayList<>();
        for (int n = 0; n < records.size(); n++) {
            long start = records.get(n).offsetBytes();
            if (windowEnds[n] >= 0 && windowEnds[n] - start < HOLE_CHECK_BYTES) {
                windows.add(new long[] {start, windowEnds[n]});
            }
        }
        return windows;
    }

    /**
     * For each data record of the batch that overlaps another, the records of its overlap
     * cluster (ascending batch indices): a cluster is a set of records whose ranges, sorted by
     * offset, join into one connected range, so a record's range meets no record outside its
     * cluster. Null when no two records overlap (a sequential stream, or scattered small writes),
     * and then no before-image needs an overlay. Example: a batch of 16,384 random 4 KiB writes
     * over 1 GiB has ~500 overlapping pairs; each record's overlay looks at its cluster (2 or 3
     * records), not at every earlier record of the batch (134 million looks per batch).
     */
    static int[][] overlapClusters(List<CaptureRecord> records) {
        List<Integer> data = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            CaptureRecord r = records.get(i);
            if (r.kind().changesData() && r.lengthBytes() > 0) {
                data.add(i);
            }
        }
        data.sort(Comparator.comparingLong(i -> records.get(i).offsetBytes()));
        int[][] partners = null;
        int clusterStart = 0;
        long clusterEnd = Long.MIN_VALUE;
        for (int k = 0; k <= data.size(); k++) {
            CaptureRecord r = k < data.size() ? records.get(data.get(k)) : null;
            if (r != null && r.offsetBytes() < clusterEnd) {
                clusterEnd = Math.max(clusterEnd, r.offsetBytes() + r.lengthBytes());
                continue;
            }
            if (k - clusterStart > 1) { // the cluster that ends here has overlaps
                int[] members = data.subList(clusterStart, k).stream().mapToInt(Integer::intValue).sorted().toArray();
                if (partners == null) {
                    partners = new int[records.size()][];
                }
                for (int m : members) {
                    partners[m] = members;
                }
            }
            if (r != null) {
                clusterStart = k;
                clusterEnd = r.offsetBytes() + r.lengthBytes();
            }
        }
        return partners;
    }

    /**
     * A range longer than {@link #WINDOW_BYTES} (a whole-device TRIM from mkfs): holes of the
     * replica ({@code SEEK_DATA}/{@code SEEK_HOLE}) that no earlier record of the batch writes get
     * one zero before-image each, without reading them; only the allocated parts are read, 1 MiB at
     * a time. Example: a 1 TiB DISCARD over a replica holding 10 MiB costs about 10 reads and a few
     * zero records, not 2^20 reads. Where the replica's holes are not believed
     * ({@link VolumeFile#holesSeeWrites}: ZFS, overlayfs, an unknown file system) the whole range is
     * read, 1 MiB at a time: correct, and as slow as reading the device.
     */
    private static void appendLong(VolumeFile replica, List<CaptureRecord> records, int n, UndoLog undo)
            throws IOException {
        CaptureRecord r = records.get(n);
        long end = r.offsetBytes() + r.lengthBytes();
        long pos = r.offsetBytes();
        while (pos < end) {
            long data = Math.min(end, replica.nextDataOffset(pos));
            if (data > pos && !earlierRecordTouches(records, n, pos, data)) {
                undo.append(new UndoRecord(r.sequence(), r.captureTimeNanos(), r.kind(), pos, data - pos, true, null));
                pos = data;
                continue;
            }
            long stop = data > pos ? data : Math.min(end, Math.max(replica.nextHoleOffset(pos), pos + 1));
            for (; pos < stop; pos += UndoSegment.MAX_DATA_BYTES) {
                byte[] old = new byte[(int) Math.min(UndoSegment.MAX_DATA_BYTES, stop - pos)];
                replica.read(pos, ByteBuffer.wrap(old));
                overlay(old, pos, records, n);
                undo.append(UndoRecord.of(r.sequence(), r.captureTimeNanos(), r.kind(), pos, old));
            }
            pos = stop;
        }
    }

    /** Whether a data record before {@code n} in the batch writes into {@code [from, to)}. */
    private static boolean earlierRecordTouches(List<CaptureRecord> records, int n, long from, long to) {
        for (int j = 0; j < n; j++) {
            CaptureRecord e = records.get(j);
            if (e.kind().changesData() && e.offsetBytes() < to && e.offsetBytes() + e.lengthBytes() > from) {
                return true;
            }
        }
        return false;
    }

    /**
     * End of the contiguous range that starts with record {@code n}: it grows over following
     * data records that start where the previous one ended, up to {@link #WINDOW_BYTES} (a single
     * record longer than that is read alone).
     */
    private static long runEnd(List<CaptureRecord> records, int n) {
        CaptureRecord first = records.get(n);
        long end = first.offsetBytes() + first.lengthBytes();
        for (int m = n + 1; m < records.size(); m++) {
            CaptureRecord r = records.get(m);
            if (!r.kind().changesData() || r.offsetBytes() != end
                    || end + r.lengthBytes() - first.offsetBytes() > WINDOW_BYTES) {
                break;
            }
            end += r.lengthBytes();
        }
        return end;
    }

    /** Zeroes {@code buf}'s remaining bytes; its position and limit are left as they were. */
    private static void fillWithZeroes(ByteBuffer buf) {
        for (int at = buf.position(); at < buf.limit(); at += ZEROES.length) {
            buf.put(at, ZEROES, 0, Math.min(ZEROES.length, buf.limit() - at));
        }
    }

    /** Applies records [0, upTo) of the batch to {@code buf}, which holds the volume at {@code bufOffset}. */
    private static void overlay(byte[] buf, long bufOffset, List<CaptureRecord> records, int upTo) {
        overlay(ByteBuffer.wrap(buf), bufOffset, records, upTo);
    }

    /**
     * Applies records [0, upTo) of the batch to {@code buf}'s remaining bytes, which hold the
     * volume from {@code bufOffset}; the buffer's position and limit are left as they were.
     */
    private static void overlay(ByteBuffer buf, long bufOffset, List<CaptureRecord> records, int upTo) {
        for (int j = 0; j < upTo; j++) {
            overlayOne(buf, bufOffset, records.get(j));
        }
    }

    /** {@link #overlay(ByteBuffer, long, List, int)} with only the records {@code candidates} (ascending) below {@code upTo}. */
    private static void overlay(ByteBuffer buf, long bufOffset, List<CaptureRecord> records, int[] candidates,
            int upTo) {
        for (int j : candidates) {
            if (j >= upTo) {
                return;
            }
            overlayOne(buf, bufOffset, records.get(j));
        }
    }

    /** Applies record {@code e} to {@code buf}'s remaining bytes, which hold the volume from {@code bufOffset}. */
    private static void overlayOne(ByteBuffer buf, long bufOffset, CaptureRecord e) {
        if (!e.kind().changesData()) {
            return;
        }
        long from = Math.max(bufOffset, e.offsetBytes());
        long to = Math.min(bufOffset + buf.remaining(), e.offsetBytes() + e.lengthBytes());
        if (from >= to) {
            return;
        }
        int dst = buf.position() + (int) (from - bufOffset);
        int n = (int) (to - from);
        if (e.kind() == RecordKind.WRITE) {
            buf.put(dst, e.payload(), (int) (from - e.offsetBytes()), n);
        } else {
            fillWithZeroes(buf.duplicate().limit(dst + n).position(dst));
        }
    }
}
