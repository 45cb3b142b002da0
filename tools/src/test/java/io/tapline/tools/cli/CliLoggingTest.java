package io.tapline.tools.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The CLI's logging set up in code: what logback.xml used to say, and when it steps aside. */
class CliLoggingTest {

    @AfterEach
    void clearProperties() {
        System.clearProperty("logback.configurationFile");
        System.clearProperty(CliLogging.LEVEL_VARIABLE);
    }

    private static LoggerContext configured(ExecutionStatus expected) {
        LoggerContext context = new LoggerContext();
        CliLogging logging = new CliLogging();
        logging.setContext(context);
        assertEquals(expected, logging.configure(context));
        return context;
    }

    @Test
    void everyLineGoesToStderrInTheCliPatternWithChattyLibrariesAtWarn() {
        LoggerContext context = configured(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        Level expected = System.getenv(CliLogging.LEVEL_VARIABLE) == null ? Level.INFO : CliLogging.level();
        assertEquals(expected, root.getLevel());
        ConsoleAppender<?> stderr = (ConsoleAppender<?>) root.getAppender("STDERR");
        assertEquals("System.err", stderr.getTarget());
        PatternLayoutEncoder encoder = (PatternLayoutEncoder) stderr.getEncoder();
        assertEquals("%timeOfDay %-5level %logger{0} - %msg%n", encoder.getPattern());
        LoggingEvent event = new LoggingEvent(CliLoggingTest.class.getName(), context.getLogger("io.tapline.replay.Replayer"),
                Level.WARN, "replica behind", null, null);
        String line = new String(encoder.encode(event), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(new TimeOfDayConverter().format(event.getTimeStamp()) + " WARN  Replayer - replica behind"
                + System.lineSeparator(), line);
        for (String name : new String[] {"io.netty", "org.pcap4j", "net.openhft", "org.apache.kafka", "kafka",
            "state.change.logger"}) {
            assertEquals(Level.WARN, context.getLogger(name).getLevel(), name);
        }
        assertFalse(context.getLogger("io.tapline.snoop.Anything").isDebugEnabled());
    }

    @Test
    void theLevelComesFromTaplineLogLevel() {
        System.setProperty(CliLogging.LEVEL_VARIABLE, "DEBUG");
        assertEquals(Level.DEBUG, configured(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY)
                .getLogger(Logger.ROOT_LOGGER_NAME).getLevel());
        System.setProperty(CliLogging.LEVEL_VARIABLE, "nonsense");
        assertEquals(Level.INFO, configured(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY)
                .getLogger(Logger.ROOT_LOGGER_NAME).getLevel());
    }

    @Test
    void anOperatorsConfigurationFileWins() {
        System.setProperty("logback.configurationFile", "/etc/tapline/logback.xml");
        LoggerContext context = configured(ExecutionStatus.INVOKE_NEXT_IF_ANY);
        assertNull(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR"));
    }
}
