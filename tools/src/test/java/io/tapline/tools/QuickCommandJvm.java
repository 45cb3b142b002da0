package io.tapline.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How the integration tests start the operator's quick commands ({@code status}, {@code mark},
 * {@code rollback}, ...): as {@code ./tapline} starts them (its list and options read from it), from the
 * packaged jar and its {@code lib/} with the launcher's options (the client compiler alone, the serial collector) and a
 * class-data archive of that classpath, built once per test JVM with the package's own builder
 * ({@code dist/src/deb/sbin/tapline-cds-archive}).
 *
 * <p>The tests run about 20 such commands a minute (polls of {@code status --json} among them)
 * while servers work on the same two cores: started like the servers (the test classpath, C2, G1,
 * no archive) each took 1.0-1.5 s of a core on a busy machine, started this way 0.3-0.7 s;
 * FailoverIT took 40 s instead of 58 s. The archive costs about 35 s once, before the first
 * quick command of a test JVM. Where the package is missing (a test run
 * before {@code package}) or the archive cannot be built, the command runs from the test classpath
 * with the same options and no archive: slower, never different.
 */
final class QuickCommandJvm {
    /**
     * The launcher's case arm for quick commands: {@code status|events|...)} and on its next line
     * {@code quick=(OPTIONS)}, read from {@code ./tapline} rather than copied, so the two never drift.
     */
    private static final Pattern QUICK_ARM = Pattern.compile(
            "(?m)^\\s*([A-Za-z-]+(?:\\|[A-Za-z-]+)+)\\)\\s*\\n\\s*quick=\\(([^)]*)\\)");
    private static final Matcher LAUNCHER_ARM = launcherArm();
    /** The quick subcommands; none (every command started as a server is) if the launcher cannot be read. */
    private static final Set<String> QUICK = LAUNCHER_ARM == null ? Set.of()
            : Set.of(LAUNCHER_ARM.group(1).split("\\|"));
    private static final List<String> OPTIONS = LAUNCHER_ARM == null ? List.of("-Xmx512m")
            : java.util.stream.Stream.concat(java.util.stream.Stream.of("-Xmx512m"),
                    java.util.Arrays.stream(LAUNCHER_ARM.group(2).trim().split("\\s+"))).toList();
    private static final Path JAR = Path.of("target", "tapline-tools.jar").toAbsolutePath();
    private static final Path LIB = Path.of("target", "lib").toAbsolutePath();
    private static final Path ARCHIVE = Path.of("target", "it-quick-commands.jsa").toAbsolutePath();
    private static final Path BUILDER = Path.of("..", "dist", "src", "deb", "sbin", "tapline-cds-archive")
            .toAbsolutePath().normalize();
    private static List<String> packaged;

    private QuickCommandJvm() {
    }

    private static Matcher launcherArm() {
        try {
            Matcher m = QUICK_ARM.matcher(Files.readString(Path.of("..", "tapline")));
            return m.find() ? m : null;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Whether {@code ./tapline} starts this subcommand as a quick command. */
    static boolean isQuick(String subcommand) {
        return QUICK.contains(subcommand);
    }

    /** {@code java OPTIONS... -cp ... TaplineCli}, for a quick command. */
    static synchronized List<String> command() {
        if (packaged == null) {
            packaged = packagedCommand();
        }
        return packaged;
    }

    private static List<String> packagedCommand() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(OPTIONS);
        if (!Files.isRegularFile(JAR) || !Files.isDirectory(LIB)) {
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TaplineCli.class.getName()));
            return List.copyOf(cmd);
        }
        String classpath = JAR + ":" + LIB + "/*";
        if (archiveBuilt(classpath)) {
            // As the launcher: a stale or unusable archive is only ignored; no CDS warning in --json output.
            cmd.addAll(List.of("-XX:SharedArchiveFile=" + ARCHIVE, "-Xshare:auto", "-Xlog:disable",
                    "-Xlog:all=error:stderr"));
        }
        cmd.addAll(List.of("-cp", classpath, TaplineCli.class.getName()));
        return List.copyOf(cmd);
    }

    private static boolean archiveBuilt(String classpath) {
        try {
            Files.deleteIfExists(ARCHIVE);
            ProcessBuilder pb = new ProcessBuilder("sh", BUILDER.toString(), ARCHIVE.toString(), classpath)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            pb.environment().put("JAVA_HOME", System.getProperty("java.home")); // the archive is this JVM's
            Process p = pb.start();
            if (!p.waitFor(Duration.ofSeconds(120).toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0 && Files.size(ARCHIVE) > 0;
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
