package io.tapline.tools;

import java.io.IOException;
import java.util.List;

/**
 * Finds the newest of an ordered list of points at which a check passes, assuming that once the
 * state went bad it stayed bad (damage persists) — but not that the oldest points pass: a window
 * often starts before the thing checked existed (a flush before {@code mkfs}). So the search
 * gallops back from the newest point in doubling steps until a point passes, then bisects between
 * that point and the nearest failing one above it. Worked example, points 1..100, good from 20 to
 * 60: 100 fail, 99 fail, 97 fail, 93 fail, 85 fail, 69 fail, 37 pass; bisect 37..69: 53 pass,
 * 61 fail, 57 pass, 59 pass, 60 pass: answer 60 after 12 checks. At most about
 * 2 log2(d) + 2 checks for d failing points after the last good one, where a linear walk needs
 * d + 1. Guaranteed to find the last good point whenever the passing stretch ending there is at
 * least d points long (the first passing probe lies within 2d of the newest point); a shorter
 * passing stretch further back may be stepped over, and the search then reports that no point
 * passed.
 *
 * <p>Stateless; the check runs on the caller's thread.
 */
final class NewestPassingPoint {
    private NewestPassingPoint() {
    }

    /** The check, run at most once per point. */
    interface Check {
        boolean passes(long point) throws IOException, InterruptedException;
    }

    /**
     * @param point  the newest point that passed, or -1 if none did
     * @param checks how many times the check ran
     */
    record Outcome(long point, int checks) {
        boolean found() {
            return point >= 0;
        }
    }

    /** @param points candidate points, oldest first, not empty */
    static Outcome find(List<Long> points, Check check) throws IOException, InterruptedException {
        if (points.isEmpty()) {
            throw new IllegalArgumentException("points: empty (expected: at least the current point)");
        }
        int hi = points.size() - 1; // the nearest point known to fail, once checked
        int checks = 1;
        if (check.passes(points.get(hi))) {
            return new Outcome(points.get(hi), checks);
        }
        int lo = -1; // a point known to pass
        for (int step = 1; lo < 0; step *= 2) {
            if (hi == 0) {
                return new Outcome(-1, checks);
            }
            int probe = Math.max(0, hi - step);
            checks++;
            if (check.passes(points.get(probe))) {
                lo = probe;
            } else {
                hi = probe;
            }
        }
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            checks++;
            if (check.passes(points.get(mid))) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return new Outcome(points.get(lo), checks);
    }
}
