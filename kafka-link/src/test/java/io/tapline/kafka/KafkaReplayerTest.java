package io.tapline.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a replayer checks before it consumes anything (no broker needed). */
class KafkaReplayerTest {
    private static final KafkaLinkConfig NOWHERE = KafkaLinkConfig.of("127.0.0.1:1");

    @Test
    void aSecondReplayerOnTheSameDataDirectoryIsRefused(@TempDir Path data) throws Exception {
        try (KafkaReplayer first = KafkaReplayer.start(NOWHERE, "a", data, "*", UndoConfig.DEFAULT)) {
            IOException e = assertThrows(IOException.class,
                    () -> KafkaReplayer.start(NOWHERE, "b", data, "*", UndoConfig.DEFAULT));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
        }
        KafkaReplayer.start(NOWHERE, "a", data, "*", UndoConfig.DEFAULT).close(); // released on close
    }

    @Test
    void volumeGlobsMatchWholeNames() {
        assertTrue("vol12".matches(KafkaReplayer.globToRegex("vol*")));
        assertTrue("vol1".matches(KafkaReplayer.globToRegex("vol?")));
        assertTrue(!"xvol1".matches(KafkaReplayer.globToRegex("vol*")));
        assertTrue("vol.1".matches(KafkaReplayer.globToRegex("vol?1")), "? is any one character");
        assertEquals(false, "volx1".matches(KafkaReplayer.globToRegex("vol.1")), "a dot is literal");
    }
}
