package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which differences between two polls of a volume's state are events. */
class EventsCommandTest {
    @Test
    void figuresInsideAReasonAreNotAChange() {
        Map<String, Object> before = state(false, List.of("remote 10.0.0.2:7000: replica behind (12 records to apply"
                + " or to hear about); the replayer has held a received batch unapplied for 5 s"), 3);
        Map<String, Object> after = state(false, List.of("remote 10.0.0.2:7000: replica behind (4,096 records to apply"
                + " or to hear about); the replayer has held a received batch unapplied for 17.5 s"), 3);
        assertEquals(List.of(), EventsCommand.changed(before, after));
    }

    @Test
    void aNewReasonASyncedFlagAndAGenerationAreChanges() {
        Map<String, Object> before = state(false, List.of("remote r: replica behind (12 records to apply)"), 3);
        assertEquals(List.of("notSyncedBecause"), EventsCommand.changed(before,
                state(false, List.of("remote r: disconnected for 3 s"), 3)));
        assertEquals(List.of("notSyncedBecause"), EventsCommand.changed(before,
                state(false, List.of("remote r: replica behind (12 records to apply)", "buffer FULL"), 3)));
        assertEquals(List.of("synced", "notSyncedBecause"), EventsCommand.changed(before, state(true, List.of(), 3)));
        assertEquals(List.of("generation"), EventsCommand.changed(before,
                state(false, List.of("remote r: replica behind (9 records to apply)"), 4)));
    }

    @Test
    void addedAndRemovedKeysAreChanges() {
        Map<String, Object> before = state(true, List.of(), 1);
        Map<String, Object> after = new LinkedHashMap<>(before);
        after.remove("generation");
        after.put("remote r connected", true);
        assertEquals(List.of("remote r connected", "generation"), EventsCommand.changed(before, after));
    }

    private static Map<String, Object> state(boolean synced, List<String> why, int generation) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("synced", synced);
        s.put("notSyncedBecause", why);
        s.put("generation", generation);
        return s;
    }
}
