package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCheckTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(log, true, StandardCharsets.UTF_8);

    @Test
    void exitZeroPassesAndOutputGoesToTheLog() throws Exception {
        Path image = Files.writeString(dir.resolve("a.img"), "good");
        ImageCheck check = new ImageCheck("grep -q good {image} && echo fine", Duration.ofSeconds(30), err);
        assertTrue(check.passes(image));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("    | fine"), log.toString(StandardCharsets.UTF_8));
        Files.writeString(image, "bad");
        assertFalse(check.passes(image));
    }

    @Test
    void pathWithSpacesAndQuotesIsQuotedForTheShell() throws Exception {
        Path image = Files.writeString(dir.resolve("it's an image.img"), "good");
        ImageCheck check = new ImageCheck("grep -q good {image}", Duration.ofSeconds(30), err);
        assertEquals("grep -q good '" + image.toAbsolutePath().toString().replace("'", "'\\''") + "'",
                check.commandFor(image));
        assertTrue(check.passes(image));
    }

    @Test
    void checkRunningPastTheLimitFails() throws Exception {
        ImageCheck check = new ImageCheck("sleep 30; true {image}", Duration.ofMillis(300), err);
        long t0 = System.nanoTime();
        assertFalse(check.passes(dir.resolve("x.img")));
        assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(20).toNanos());
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("timed out"), log.toString(StandardCharsets.UTF_8));
    }

    @Test
    void rejectsCommandWithoutPlaceholder() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ImageCheck("e2fsck -fn", Duration.ofSeconds(1), err));
        assertTrue(e.getMessage().startsWith("--until-check: e2fsck -fn (expected: a command containing {image}"));
    }
}
