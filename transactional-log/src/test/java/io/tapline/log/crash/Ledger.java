package io.tapline.log.crash;

import java.util.ArrayList;
import java.util.List;

/**
 * A step function over trace positions: what a workload knew to be acknowledged (durable) after
 * each operation. {@link #at} gives the newest value noted at or before a cut.
 *
 * @param <T> the acknowledged value
 */
final class Ledger<T> {
    private final List<Integer> positions = new ArrayList<>();
    private final List<T> values = new ArrayList<>();
    private final T initial;

    Ledger(T initial) {
        this.initial = initial;
    }

    /** Notes {@code value} as true for every cut at or after {@code position}. */
    void note(int position, T value) {
        positions.add(position);
        values.add(value);
    }

    /** The value for a cut after {@code opsDone} operations. */
    T at(int opsDone) {
        T v = initial;
        int lo = 0;
        int hi = positions.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (positions.get(mid) <= opsDone) {
                v = values.get(mid);
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return v;
    }
}
