package io.tapline.tools.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LogbackServiceProvider;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import ch.qos.logback.core.util.StatusPrinter;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The SLF4J provider a {@code tapline} process names ({@code -Dslf4j.provider}, set by
 * {@code TaplineCli.main}): logback, set up as {@link CliLogging} says, without the two searches
 * of the class path that finding it costs otherwise (SLF4J's and logback's {@code ServiceLoader}s,
 * plus the lookup of a {@code logback-test.xml}). Each search opens every jar of the class path,
 * about 30-40 ms of each command's start on a small machine
 * (docs/benchmarks.md#cli-class-path-walks).
 *
 * <p>{@code -Dlogback.configurationFile=FILE}, or a {@code logback-test.xml} in a directory of the
 * class path (a build's test resources), hands over to logback's own configuration, as before.
 */
public final class CliLoggingProvider extends LogbackServiceProvider {
    @Override
    public void initialize() {
        if (System.getProperty("logback.configurationFile") != null || testConfigurationOnClassPath()) {
            super.initialize();
            return;
        }
        LoggerContext context = (LoggerContext) getLoggerFactory();
        context.setName(CoreConstants.DEFAULT_CONTEXT_NAME);
        context.setMDCAdapter(getMDCAdapter());
        CliLogging.apply(context);
        context.start();
        // As logback's own provider does: its set-up problems on stderr, not lost. StatusPrinter is
        // touched only then: its static set-up asks java.time for the default zone, which walks
        // the class path (dist/check-package.sh caught it).
        if (!StatusUtil.contextHasStatusListener(context)
                && new StatusUtil(context).getHighestLevel(0) >= Status.WARN) {
            StatusPrinter.print(context);
        }
    }

    /** A {@code logback-test.xml} in one of the class path's directories (jars are not searched). */
    static boolean testConfigurationOnClassPath() {
        for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
            if (!entry.isEmpty() && Files.isRegularFile(Path.of(entry, "logback-test.xml"))) {
                return true;
            }
        }
        return false;
    }
}
