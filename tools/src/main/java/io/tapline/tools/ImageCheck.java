package io.tapline.tools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * An operator's check of a point-in-time image ({@code tapline rollback --until-check}): the
 * command line with {@code {image}} replaced by the image's path, run through {@code /bin/sh -c}
 * with a time limit. Exit status 0 means the image passes; anything else, or running out of
 * time, means it fails. The command's output is copied to {@code log} (stderr), indented, so that
 * stdout stays the command's result.
 *
 * <p>The path is inserted as is when it holds only {@code [A-Za-z0-9/._+-]}, else single-quoted
 * for the shell (so write {@code {image}}, not {@code '{image}'}).
 *
 * <p>Not thread-safe; one check at a time.
 */
final class ImageCheck {
    static final String PLACEHOLDER = "{image}";
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9/._+-]+");

    private final String template;
    private final Duration timeout;
    private final PrintStream log;

    ImageCheck(String template, Duration timeout, PrintStream log) {
        if (!template.contains(PLACEHOLDER)) {
            throw new IllegalArgumentException("--until-check: " + template + " (expected: a command containing "
                    + PLACEHOLDER + ", e.g. 'e2fsck -fn {image}')");
        }
        this.template = template;
        this.timeout = timeout;
        this.log = log;
    }

    /** The shell command for {@code image}. */
    String commandFor(Path image) {
        String p = image.toAbsolutePath().toString();
        String quoted = PLAIN.matcher(p).matches() ? p : "'" + p.replace("'", "'\\''") + "'";
        return template.replace(PLACEHOLDER, quoted);
    }

    /** Runs the check on {@code image}; true when it exits 0 within the time limit. */
    boolean passes(Path image) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/bin/sh", "-c", commandFor(image)).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        Thread copier = new Thread(() -> copyOutput(p), "until-check-output");
        copier.setDaemon(true);
        copier.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
            copier.join(TimeUnit.SECONDS.toMillis(5));
            log.println("tapline rollback: check timed out after " + timeout.toSeconds() + " s: counted as failed");
            return false;
        }
        copier.join(TimeUnit.SECONDS.toMillis(5));
        return p.exitValue() == 0;
    }

    private void copyOutput(Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                log.println("    | " + line);
            }
        } catch (IOException e) {
            // The check was killed (time limit) and its pipe closed under us: say so, keep going.
            log.println("    | (output ended: " + e.getMessage() + ")");
        }
    }
}
