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
            int distance = POINTS.size() - lastGood;
            int bound = 2 + 2 * (32 - Integer.numberOfLeadingZeros(distance));
            assertTrue(o.checks() <= bound, "checks " + o.checks() + " > " + bound + " for last good " + lastGood);
            assertEquals(asked.size(), asked.stream().distinct().count(), "a point checked twice: " + asked);
        }
    }

    @Test
    void pointsBeforeTheCheckedThingExistedDoNotHideTheLastGoodOne() throws Exception {
        // Fails before 200 (no file system yet), passes 200..4900, fails after (damaged).
        NewestPassingPoint.Outcome o = NewestPassingPoint.find(POINTS, p -> p >= 200 && p <= 4900);
        assertEquals(4900, o.point());
        // The passing stretch exactly as long as the failing one after it is still found.
        for (int d = 1; d < 400; d++) {
            long lastGood = POINTS.get(POINTS.size() - 1 - d);
            long firstGood = POINTS.get(POINTS.size() - 2 * d);
            assertEquals(lastGood, NewestPassingPoint.find(POINTS, p -> p >= firstGood && p <= lastGood).point(),
                    "d=" + d);
        }
    }

    @Test
    void workedExampleOfTheClassComment() throws Exception {
        List<Long> asked = new ArrayList<>();
        NewestPassingPoint.Outcome o = NewestPassingPoint.find(LongStream.rangeClosed(1, 100).boxed().toList(), p -> {
            asked.add(p);
            return p >= 20 && p <= 60;
        });
        assertEquals(List.of(100L, 99L, 97L, 93L, 85L, 69L, 37L, 53L, 61L, 57L, 59L, 60L), asked);
        assertEquals(60, o.point());
        assertEquals(12, o.checks());
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
        assertTrue(o.checks() <= 12, "checks " + o.checks());
        assertFalse(NewestPassingPoint.find(List.of(5L), p -> false).found());
    }
}
