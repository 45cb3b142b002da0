package io.tapline.snoop.volume;

import java.util.ArrayDeque;
import java.util.TreeSet;
import java.util.function.LongFunction;

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
 * same volume that ended while it was outstanding, on any connection: one instance serves every
 * connection of a capture, since two hosts, NBD multi-conn clients (nbdcopy {@code --connections},
 * QEMU) and iSCSI sessions over two portals reach one volume over several connections, and their
 * server orders what is in flight together as it likes. A range of length
 * {@link SnoopSink#WHOLE_VOLUME} is the whole volume. Called once per write completion: nothing is
 * formatted unless a GAP is recorded. Not thread-safe: the capture thread.
 */
public final class ConcurrentOverlaps {
    /** Where a range whose order is unknown goes. */
    @FunctionalInterface
    public interface Gaps {
        void gap(VolumeKey volume, long offsetBytes, long lengthBytes, String reason);
    }

    /** A command that ended, in the order they ended. */
    private record Ended(VolumeKey volume, long endedTick, long[] ranges, long id, LongFunction<String> names) {
    }

    /** Ended commands kept at most: past it the oldest outstanding one stops being followed. */
    static final int MAX_KEPT = 4096;

    private final Gaps gaps;
    /** Names a command by its id (an ITT, a cookie) in a GAP's reason. */
    private final LongFunction<String> names;
    private final int maxKept;
    private final TreeSet<Long> outstanding = new TreeSet<>();
    /** Outstanding so long that the commands ended meanwhile were let go: their whole range is a GAP. */
    private final java.util.Set<Long> givenUp = new java.util.HashSet<>();
    private final ArrayDeque<Ended> ended = new ArrayDeque<>();
    private long tick;

    /** @param names how a GAP's reason names a command by the id {@link #ended} was given */
    public ConcurrentOverlaps(Gaps gaps, LongFunction<String> names) {
        this(gaps, names, MAX_KEPT);
    }

    ConcurrentOverlaps(Gaps gaps, LongFunction<String> names, int maxKept) {
        this.gaps = gaps;
        this.names = names;
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
     * changed, {@code ranges} of {@code volume} ({offset, length} pairs). A GAP goes over each part
     * of them that a command which ended while this one was outstanding also changed.
     */
    public void ended(long ticket, VolumeKey volume, long[] ranges, long id) {
        ended(ticket, volume, ranges, id, names);
    }

    /** As {@link #ended(long, VolumeKey, long[], long)}, {@code names} naming the command (with its connection) in a GAP. */
    public void ended(long ticket, VolumeKey volume, long[] ranges, long id, LongFunction<String> names) {
        if (givenUp.remove(ticket)) {
            // Answered after so many others that they were not all kept: any of them may overlap it.
            for (int i = 0; i + 1 < ranges.length; i += 2) {
                gaps.gap(volume, ranges[i], ranges[i + 1], "a write answered after more than " + maxKept
                        + " others that were in flight with it: its order among them is unknown: " + names.apply(id));
            }
            return;
        }
        if (!outstanding.remove(ticket)) {
            return; // not ours (a command sent before the tap saw it): nothing to compare
        }
        long endedTick = ++tick;
        for (Ended other : ended) {
            if (other.endedTick > ticket && other.volume.equals(volume)) {
                intersect(volume, ranges, id, names, other);
            }
        }
        if (ranges.length > 0) {
            ended.addLast(new Ended(volume, endedTick, ranges, id, names));
        }
        prune();
    }

    private void intersect(VolumeKey volume, long[] ranges, long id, LongFunction<String> names, Ended other) {
        for (int i = 0; i + 1 < ranges.length; i += 2) {
            for (int j = 0; j + 1 < other.ranges.length; j += 2) {
                long from = Math.max(ranges[i], other.ranges[j]);
                long to = Math.min(end(ranges, i), end(other.ranges, j));
                if (from < to) {
                    gaps.gap(volume, from, to - from, "overlapping writes in flight together, the target may have"
                            + " applied them in another order than it answered them: " + other.names.apply(other.id)
                            + " and " + names.apply(id));
                }
            }
        }
    }

    /** The end of the range at {@code i}: the volume's (unbounded) for {@link SnoopSink#WHOLE_VOLUME}. */
    private static long end(long[] ranges, int i) {
        return ranges[i + 1] == SnoopSink.WHOLE_VOLUME ? Long.MAX_VALUE : ranges[i] + ranges[i + 1];
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

    /** Commands end in order, so those before {@code oldest} are a prefix. */
    private void dropEndedBefore(long oldest) {
        while (!ended.isEmpty() && ended.peekFirst().endedTick() < oldest) {
            ended.pollFirst();
        }
    }

    /** Ended commands still kept for comparison (tests). */
    int kept() {
        return ended.size();
    }
}
