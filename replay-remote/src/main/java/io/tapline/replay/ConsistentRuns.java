package io.tapline.replay;

import java.util.Arrays;

/**
 * The replica's earlier consistent runs, newest last: stretches of applied sequences
 * {@code [since, until]} at every one of which the replica was a consistent image of its source
 * (between two runs lies a gap, a hole or a resync epoch). Immutable. At most {@link #MAX} are
 * kept (the oldest is dropped), so a rollback to an older point is told "not known to be
 * consistent" rather than "consistent": a rollback to an earlier copied cycle or to before a
 * healed gap stays exact about consistency without a log of every run.
 */
final class ConsistentRuns {
    /** Runs kept: as many as fit in an {@code applied.state} slot beside the rest. */
    static final int MAX = 24;
    static final ConsistentRuns NONE = new ConsistentRuns(new long[0]);

    private final long[] bounds; // since0, until0, since1, until1, ... oldest first

    private ConsistentRuns(long[] bounds) {
        this.bounds = bounds;
    }

    /** From {@code count} pairs read back from a file. */
    static ConsistentRuns of(long[] bounds) {
        if (bounds.length % 2 != 0 || bounds.length > 2 * MAX) {
            throw new IllegalArgumentException("bounds: " + bounds.length + " (expected: an even count <= " + 2 * MAX + ")");
        }
        return bounds.length == 0 ? NONE : new ConsistentRuns(bounds.clone());
    }

    int count() {
        return bounds.length / 2;
    }

    long since(int i) {
        return bounds[2 * i];
    }

    long until(int i) {
        return bounds[2 * i + 1];
    }

    /** These runs and {@code [since, until]} after them, the oldest dropped beyond {@link #MAX}. */
    ConsistentRuns with(long since, long until) {
        int keep = Math.min(count(), MAX - 1);
        long[] b = new long[2 * (keep + 1)];
        System.arraycopy(bounds, bounds.length - 2 * keep, b, 0, 2 * keep);
        b[2 * keep] = since;
        b[2 * keep + 1] = until;
        return new ConsistentRuns(b);
    }

    /** Index of the newest run that starts at or before {@code sequence}, or -1. */
    int newestStartingAtOrBefore(long sequence) {
        for (int i = count() - 1; i >= 0; i--) {
            if (since(i) <= sequence) {
                return i;
            }
        }
        return -1;
    }

    /** The runs older than run {@code i}. */
    ConsistentRuns before(int i) {
        return i <= 0 ? NONE : new ConsistentRuns(Arrays.copyOf(bounds, 2 * i));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConsistentRuns r && Arrays.equals(bounds, r.bounds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bounds);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < count(); i++) {
            s.append(i == 0 ? "" : ", ").append(since(i)).append("..").append(until(i));
        }
        return s.append(']').toString();
    }
}
