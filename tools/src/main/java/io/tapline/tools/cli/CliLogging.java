package io.tapline.tools.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.pattern.DynamicConverter;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The CLI's logging, set up in code (logback finds it through {@code META-INF/services}): every
 * line to stderr, so that stdout stays machine-readable ({@code --json}), at the level of
 * {@code TAPLINE_LOG_LEVEL} (a system property or the environment; default INFO), with the
 * chatty libraries at WARN. Parsing the same configuration from a {@code logback.xml} took about
 * 0.1 s of every start of a command that logs (docs/benchmarks.md#cli-lazy-subcommands).
 *
 * <p>{@code -Dlogback.configurationFile=FILE} still wins, as does a {@code logback-test.xml} on
 * the class path: logback's own lookup then runs instead. A {@code tapline} process (its
 * {@code main}) reaches this set-up through {@link CliLoggingProvider} instead, without logback's
 * search of the class path.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class CliLogging extends ContextAwareBase implements Configurator {
    /** Time of day ({@link TimeOfDayConverter}), level, logger's simple name, message. */
    static final String PATTERN = "%timeOfDay %-5level %logger{0} - %msg%n";
    /** The pattern's own conversion word for {@link TimeOfDayConverter}. */
    static final String TIME_OF_DAY = "timeOfDay";
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
        apply(context);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Sets {@code context} up as the class describes, whatever else is on the class path. */
    static void apply(LoggerContext context) {
        Map<String, Supplier<DynamicConverter>> rules = new HashMap<>();
        rules.put(TIME_OF_DAY, TimeOfDayConverter::new);
        context.putObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS, rules);
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
    }

    /**
     * A one-shot command that reads Kafka (audit --kafka): the client's reconnect warnings (twenty
     * lines while no broker answers) are left out, and the command's own one line says what failed.
     */
    public static void quietKafka() {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            context.getLogger("org.apache.kafka").setLevel(Level.ERROR);
        }
    }

    /** {@code TAPLINE_LOG_LEVEL}, as a system property or else from the environment; INFO when unset or unknown. */
    static Level level() {
        String value = System.getProperty(LEVEL_VARIABLE, System.getenv(LEVEL_VARIABLE));
        return Level.toLevel(value, Level.INFO);
    }
}
