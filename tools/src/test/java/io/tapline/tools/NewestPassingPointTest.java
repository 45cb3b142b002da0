package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class NewestPassingPointTest {
    private static final List<Long> POINTS = LongStream.rangeClosed(1, 1000).map(i -> i * 7).boxed().toList();

    @Test
    void findsTheLastGoodPointForEveryDamagePositionInFewChecks() throws Exception {
        for (int lastGood = 0; lastGood < POINTS.size(); lastGood++) {
            long good = POINTS.get(lastGood);
            List<Long> asked = new ArrayList<>();
            NewestPassingPoint.Outcome o = NewestPassingPoint.find(POINTS, p -> {
                asked.add(p);
                return p <= good;
            });
            assertEquals(good, o.point(), "last good " + good);
            assertEquals(asked.size(), o.checks());
            assertTrue(o.checks() <= 2 + 10, "checks " + o.checks() + " for 1000 points (log2 1000 < 10)");
            assertEquals(asked.size(), asked.stream().distinct().count(), "a point checked twice: " + asked);
        }
    }

    @Test
    void currentPointPassingNeedsOneCheck() throws Exception {
        NewestPassingPoint.Outcome o = NewestPassingPoint.find(POINTS, p -> true);
        assertEquals(7000, o.point());
        assertEquals(1, o.checks());
    }

    @Test
    void noPassingPointIsReportedAfterTheNewestAndOldestFail() throws Exception {
        NewestPassingPoint.Outcome o = NewestPassingPoint.find(POINTS, p -> false);
        assertFalse(o.found());
        assertEquals(2, o.checks());
        assertFalse(NewestPassingPoint.find(List.of(5L), p -> false).found());
    }
}
