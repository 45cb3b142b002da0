package io.tapline.tools.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.util.List;

/**
 * The CLI's logging, set up in code (logback finds it through {@code META-INF/services}): every
 * line to stderr, so that stdout stays machine-readable ({@code --json}), at the level of
 * {@code TAPLINE_LOG_LEVEL} (a system property or the environment; default INFO), with the
 * chatty libraries at WARN. Parsing the same configuration from a {@code logback.xml} took about
 * 0.1 s of every start of a command that logs (docs/benchmarks.md#cli-lazy-subcommands).
 *
 * <p>{@code -Dlogback.configurationFile=FILE} still wins, as does a {@code logback-test.xml} on
 * the class path: logback's own lookup then runs instead.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class CliLogging extends ContextAwareBase implements Configurator {
    /** Time, level, logger's simple name, message. */
    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";
    /** Loggers kept at WARN whatever the level: libraries that log every connection or poll at INFO. */
    static final List<String> QUIET = List.of("io.netty", "org.pcap4j", "net.openhft", "org.apache.kafka", "kafka",
            "state.change.logger");
    static final String LEVEL_VARIABLE = "TAPLINE_LOG_LEVEL";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null
                || CliLogging.class.getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(level());
        root.addAppender(stderr);
        for (String name : QUIET) {
            context.getLogger(name).setLevel(Level.WARN);
        }
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** {@code TAPLINE_LOG_LEVEL}, as a system property or else from the environment; INFO when unset or unknown. */
    static Level level() {
        String value = System.getProperty(LEVEL_VARIABLE, System.getenv(LEVEL_VARIABLE));
        return Level.toLevel(value, Level.INFO);
    }
}
