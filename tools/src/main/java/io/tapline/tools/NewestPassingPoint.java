package io.tapline.tools;

import java.io.IOException;
import java.util.List;

/**
 * Finds the newest of an ordered list of points at which a check passes, by bisection, assuming
 * the check passes up to some point and fails after it (a state damaged at some moment stays
 * damaged). Worked example over points 10, 20, ... 100 with damage after 60: check 100 (fail),
 * check 10 (pass), then 50 (pass), 70 (fail), 60 (pass): answer 60 after 5 checks; a linear
 * walk from the newest would have needed 5 as well here, but needs n - k + 1 in general, where
 * bisection needs at most 2 + ceil(log2(n)).
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
        int hi = points.size() - 1;
        if (check.passes(points.get(hi))) {
            return new Outcome(points.get(hi), 1);
        }
        if (hi == 0) {
            return new Outcome(-1, 1);
        }
        if (!check.passes(points.get(0))) {
            return new Outcome(-1, 2);
        }
        int lo = 0; // lo passed, hi failed
        int checks = 2;
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
