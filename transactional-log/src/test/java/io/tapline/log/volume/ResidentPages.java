package io.tapline.log.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** How much of a file is in the page cache, as util-linux's {@code fincore} counts it. */
public final class ResidentPages {
    private ResidentPages() {
    }

    /** Resident page-cache bytes of {@code file}; fails the test when fincore fails. */
    public static long bytesOf(Path file) throws Exception {
        Process p = new ProcessBuilder("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), "fincore: " + out);
        return Long.parseLong(out);
    }
}
