package io.tapline.snoop.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which pairs of write-nature commands were in flight together and overlap, and what is kept to tell. */
class ConcurrentOverlapsTest {
    private static final VolumeKey A = VolumeKey.nbd("127.0.0.1:10809", "a");
    private static final VolumeKey B = VolumeKey.nbd("127.0.0.1:10809", "b");

    private final List<long[]> gaps = new ArrayList<>();
    private final ConcurrentOverlaps overlaps = new ConcurrentOverlaps((v, o, l, why) -> gaps.add(new long[] {o, l}),
            id -> "#" + id);

    @Test
    void onlyRangesOfTheSameVolumeInFlightTogetherAreGaps() {
        long one = overlaps.sent();
        long two = overlaps.sent();
        long three = overlaps.sent();
        overlaps.ended(three, B, new long[] {0, 100}, three); // another volume
        overlaps.ended(two, A, new long[] {50, 100, 1000, 10}, two);
        overlaps.ended(one, A, new long[] {0, 60, 1005, 100}, one);
        assertEquals(2, gaps.size());
        assertEquals(List.of(50L, 10L), List.of(gaps.get(0)[0], gaps.get(0)[1]));
        assertEquals(List.of(1005L, 5L), List.of(gaps.get(1)[0], gaps.get(1)[1]));
        assertEquals(0, overlaps.kept(), "nothing in flight: nothing kept");
    }

    @Test
    void aCommandSentAfterAnotherEndedIsOrderedByIt() {
        long one = overlaps.sent();
        overlaps.ended(one, A, new long[] {0, 100}, one);
        long two = overlaps.sent();
        overlaps.ended(two, A, new long[] {0, 100}, two);
        assertEquals(0, gaps.size());
    }

    @Test
    void aCommandNeverAnsweredStopsBeingFollowedPastTheBoundAndIsAGapIfItEnds() {
        ConcurrentOverlaps small = new ConcurrentOverlaps((v, o, l, why) -> gaps.add(new long[] {o, l}),
                id -> "#" + id, 8);
        long stuck = small.sent();
        for (int i = 0; i < 20; i++) {
            long t = small.sent();
            small.ended(t, A, new long[] {1000 + i * 10L, 10}, t);
        }
        assertEquals(0, gaps.size());
        assertEquals(true, small.kept() <= 8, "bounded: " + small.kept());
        small.ended(stuck, A, new long[] {0, 4096}, stuck);
        assertEquals(1, gaps.size(), "its whole range, since what it overlapped was not all kept");
        assertEquals(List.of(0L, 4096L), List.of(gaps.get(0)[0], gaps.get(0)[1]));
    }

    @Test
    void endedCommandsAreKeptOnlyWhileOneThatWasInFlightWithThemIs() {
        long slow = overlaps.sent();
        for (int i = 0; i < 100; i++) {
            long t = overlaps.sent();
            overlaps.ended(t, A, new long[] {i * 10L, 10}, t);
        }
        assertEquals(100, overlaps.kept());
        overlaps.ended(slow, A, new long[] {5, 10}, slow);
        assertEquals(2, gaps.size(), "the slow one overlaps the first two fast ones");
        assertEquals(0, overlaps.kept());
        long unknown = 12345;
        overlaps.ended(unknown, A, new long[] {0, 10}, unknown);
        assertEquals(2, gaps.size());
    }
}
