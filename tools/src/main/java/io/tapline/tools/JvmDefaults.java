package io.tapline.tools;

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
 * </ul>
 */
final class JvmDefaults {
    /** Netty's switch for its allocator events (read once, by {@code PlatformDependent}). */
    static final String NETTY_JFR = "io.netty.jfr.enabled";

    private JvmDefaults() {
    }

    /** Sets each default the operator did not set. */
    static void apply() {
        if (System.getProperty(NETTY_JFR) == null) {
            System.setProperty(NETTY_JFR, "false");
        }
    }
}
