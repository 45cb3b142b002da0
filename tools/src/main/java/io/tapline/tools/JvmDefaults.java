package io.tapline.tools;

import io.tapline.tools.cli.CliLoggingProvider;

/**
 * System properties every {@code tapline} process starts with unless the operator set them
 * ({@code TAPLINE_JAVA_OPTS="-D..."} wins): set by {@link TaplineCli}'s static initialiser, the
 * first code of a {@code tapline} process (and of a test that runs the CLI in its JVM), before any
 * library reads them.
 *
 * <ul>
 *   <li>{@code io.netty.jfr.enabled=false}: Netty 4.2 declares Flight Recorder events for its
 *       allocators and, with JFR available, checks them on every buffer allocation and release.
 *       The first check initialises JFR's event machinery, about 100 classes: 100-200 ms on the
 *       thread that frees the process's first buffer, which is the event loop of a replayer's
 *       first session, of a wedge's first host connection, and of the {@code rollback} and
 *       {@code mark} commands' one exchange (docs/benchmarks.md#cold-start). Tapline records
 *       no such events.</li>
 *   <li>{@code picocli.disable.closures=true}: picocli's default factory otherwise looks for
 *       Groovy's {@code Closure} class once, and a class that is not there is looked for in every
 *       jar of the class path (47 jars opened, 30-40 ms of each quick command's start here;
 *       docs/benchmarks.md#cli-class-path-walks). Tapline's commands are no Groovy closures.</li>
 * </ul>
 *
 * <p>{@link #applyToProcess()} adds, from {@code main} only, what a test's JVM must not get: the
 * SLF4J provider ({@code slf4j.provider}, {@link CliLoggingProvider}) and SLF4J's own reports at
 * WARN ({@code slf4j.internal.verbosity}: at INFO it would announce that provider on stderr at every
 * start).
 */
final class JvmDefaults {
    /** Netty's switch for its allocator events (read once, by {@code PlatformDependent}). */
    static final String NETTY_JFR = "io.netty.jfr.enabled";
    /** picocli's switch for its Groovy lookup (read once, by its default factory). */
    static final String PICOCLI_CLOSURES = "picocli.disable.closures";
    /** SLF4J's explicit provider (read once, when the first logger is asked for). */
    static final String SLF4J_PROVIDER = "slf4j.provider";
    /** SLF4J's own reports; at INFO it announces an explicit provider on every start. */
    static final String SLF4J_VERBOSITY = "slf4j.internal.verbosity";

    private JvmDefaults() {
    }

    /** Sets each default the operator did not set. */
    static void apply() {
        setUnlessSet(NETTY_JFR, "false");
        setUnlessSet(PICOCLI_CLOSURES, "true");
    }

    /**
     * The defaults of a {@code tapline} process alone: SLF4J bound straight to
     * {@link CliLoggingProvider}, without its search of the class path. A test that runs the CLI in
     * its own JVM keeps whatever logging that JVM found.
     */
    static void applyToProcess() {
        setUnlessSet(SLF4J_PROVIDER, CliLoggingProvider.class.getName());
        setUnlessSet(SLF4J_VERBOSITY, "WARN");
    }

    private static void setUnlessSet(String name, String value) {
        if (System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }
}
