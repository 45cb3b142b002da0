package io.tapline.snoop.volume;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * Overlapping write-nature commands that were outstanding at the same time: a tap cannot know the
 * order the target applied them in. SAM-5 lets a target run SIMPLE tasks in any order, and the NBD
 * protocol lets a server process requests in any order; the replies' order (which the snoop replays
 * in) need not be it. tgtd answered WRITE A, B, C over the same blocks C, B, A and applied them
 * A, B, C: the replica ended with A's bytes where the disk held C's. So where two such commands
 * overlap, the range is unknown: a GAP over the intersection, recorded when the later of the two
 * completes, makes the replica out of sync there until a resync compares it. Commands that did not
 * overlap in time (one answered before the other was sent) are ordered, as the host ordered them.
 *
 * <p>Each command takes a ticket when it is sent ({@link #sent}) and hands it back with its ranges
 * when its outcome is known ({@link #ended}), at which point it is compared with the commands of the
 * same volume that ended while it was outstanding. Not thread-safe: one connection's capture thread.
 */
public final class ConcurrentOverlaps {
    /** Where a range whose order is unknown goes. */
    @FunctionalInterface
    public interface Gaps {
        void gap(VolumeKey volume, long offsetBytes, long lengthBytes, String reason);
    }

    private record Ended(VolumeKey volume, long sentTick, long endedTick, long[] ranges, String name) {
    }

    /** Ended commands kept at most: past it the oldest outstanding one stops being followed. */
    static final int MAX_KEPT = 4096;

    private final Gaps gaps;
    private final int maxKept;
    private final TreeSet<Long> outstanding = new TreeSet<>();
    /** Outstanding so long that the commands ended meanwhile were let go: their whole range is a GAP. */
    private final java.util.Set<Long> givenUp = new java.util.HashSet<>();
    private final List<Ended> ended = new ArrayList<>();
    private long tick;

    public ConcurrentOverlaps(Gaps gaps) {
        this(gaps, MAX_KEPT);
    }

    ConcurrentOverlaps(Gaps gaps, int maxKept) {
        this.gaps = gaps;
        this.maxKept = maxKept;
    }

    /** A write-nature command was sent: its ticket. */
    public long sent() {
        long t = ++tick;
        outstanding.add(t);
        return t;
    }

    /**
     * The command of {@code ticket} ended (applied, failed or abandoned) having changed, or maybe
     * changed, {@code ranges} of {@code volume} ({offset, length} pairs, lengths > 0). A GAP goes
     * over each part of them that a command which ended while this one was outstanding also changed.
     */
    public void ended(long ticket, VolumeKey volume, long[] ranges, String name) {
        if (givenUp.remove(ticket)) {
            // Answered after so many others that they were not all kept: any of them may overlap it.
            for (int i = 0; i + 1 < ranges.length; i += 2) {
                gaps.gap(volume, ranges[i], ranges[i + 1], "a write answered after more than " + maxKept
                        + " others that were in flight with it: its order among them is unknown: " + name);
            }
            return;
        }
        if (!outstanding.remove(ticket)) {
            return; // not ours (a command sent before the tap saw it): nothing to compare
        }
        long endedTick = ++tick;
        for (Ended other : ended) {
            if (other.endedTick > ticket && other.volume.equals(volume)) {
                intersect(volume, ranges, other, name);
            }
        }
        if (ranges.length > 0) {
            ended.add(new Ended(volume, ticket, endedTick, ranges, name));
        }
        prune();
    }

    /** A command that will never end here (the connection's state was reset): forgotten. */
    public void forget(long ticket) {
        outstanding.remove(ticket);
        givenUp.remove(ticket);
        prune();
    }

    private void intersect(VolumeKey volume, long[] ranges, Ended other, String name) {
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            for (int j = 0; j + 1 < other.ranges.length; j += 2) {
                long from = Math.max(ranges[i], other.ranges[j]);
                long to = Math.min(ranges[i] + ranges[i + 1], other.ranges[j] + other.ranges[j + 1]);
                if (from < to) {
                    gaps.gap(volume, from, to - from, "overlapping writes in flight together, the target may have"
                            + " applied them in another order than it answered them: " + other.name + " and " + name);
                }
            }
        }
    }

    /** Drops the ended commands no outstanding or later command can have overlapped in time. */
    private void prune() {
        // A command never answered (its reply lost with the capture, a target that hangs) would keep
        // every later one: past the bound it is given up (its whole range a GAP when it does end).
        while (ended.size() > maxKept && !outstanding.isEmpty()) {
            givenUp.add(outstanding.pollFirst());
            dropEndedBefore(outstanding.isEmpty() ? Long.MAX_VALUE : outstanding.first());
        }
        dropEndedBefore(outstanding.isEmpty() ? Long.MAX_VALUE : outstanding.first());
    }

    private void dropEndedBefore(long oldest) {
        for (Iterator<Ended> it = ended.iterator(); it.hasNext();) {
            if (it.next().endedTick < oldest) {
                it.remove();
            }
        }
    }

    /** Ended commands still kept for comparison (tests). */
    int kept() {
        return ended.size();
    }
}
