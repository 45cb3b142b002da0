package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An import's exit status: 0 only for an exact copy, {@link ImportOutcome#INCOMPLETE_EXIT} with the reasons otherwise. */
class ImportOutcomeTest {
    private static Map<String, Object> summary(long gaps, Object fileError, String replicaState, long ignored) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("fileError", fileError);
        s.put("ignoredConnections", ignored);
        Map<String, Object> volumes = new LinkedHashMap<>();
        if (gaps >= 0) {
            volumes.put("vol1", Map.of("writes", 3L, "gaps", gaps));
        }
        s.put("volumes", volumes);
        if (replicaState != null) {
            Map<String, Object> remote = new LinkedHashMap<>();
            remote.put("volume", "vol1");
            remote.put("remote", "127.0.0.1:7070");
            remote.put("replica", replicaState);
            s.put("remotes", List.of(remote));
        }
        return s;
    }

    @Test
    void anExactCopyIsComplete() {
        assertNull(ImportOutcome.incomplete(summary(0, null, "consistent", 3)));
        assertNull(ImportOutcome.incomplete(summary(0, null, null, 0)), "no remote: the buffer alone");
    }

    @Test
    void gapsDamageAReplicaNotConsistentOrNothingFoundAreEachNamed() {
        assertTrue(ImportOutcome.incomplete(summary(2, null, "out-of-sync", 0))
                .startsWith("2 GAP(s) recorded: ranges whose writes the capture does not hold; replica of vol1 on"
                        + " 127.0.0.1:7070 is out-of-sync"));
        assertTrue(ImportOutcome.incomplete(summary(0, "truncated record", "consistent", 0))
                .startsWith("the capture file is damaged (truncated record)"));
        assertTrue(ImportOutcome.incomplete(summary(0, null, "unknown", 0)).contains("is unknown"));
        assertTrue(ImportOutcome.incomplete(summary(-1, null, null, 2)).startsWith("no volume found: 2 connection(s)"
                + " ignored"));
        assertEquals(3, ImportOutcome.INCOMPLETE_EXIT);
    }
}
