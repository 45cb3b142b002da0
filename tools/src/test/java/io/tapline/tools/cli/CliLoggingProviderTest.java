package io.tapline.tools.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.ConsoleAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The provider a tapline process binds SLF4J to: the CLI's set-up, or logback's when asked for. */
class CliLoggingProviderTest {
    @TempDir
    Path dir;

    @AfterEach
    void clearProperties() {
        System.clearProperty("logback.configurationFile");
    }

    @Test
    void setsUpTheClisLoggingOnItsOwnContext() {
        CliLoggingProvider provider = new CliLoggingProvider();
        provider.initialize();
        LoggerContext context = (LoggerContext) provider.getLoggerFactory();
        assertTrue(context.isStarted());
        assertEquals("default", context.getName());
        assertNotNull(context.getMDCAdapter());
        ConsoleAppender<?> stderr = (ConsoleAppender<?>) context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR");
        assertEquals("System.err", stderr.getTarget());
        assertEquals(Level.WARN, context.getLogger("io.netty").getLevel());
    }

    @Test
    void anOperatorsConfigurationFileHandsOverToLogback() throws Exception {
        Path xml = dir.resolve("logback.xml");
        Files.writeString(xml, """
                <configuration>
                  <appender name="OPERATOR" class="ch.qos.logback.core.ConsoleAppender">
                    <encoder><pattern>%msg%n</pattern></encoder>
                  </appender>
                  <root level="DEBUG"><appender-ref ref="OPERATOR"/></root>
                </configuration>
                """);
        System.setProperty("logback.configurationFile", xml.toString());
        CliLoggingProvider provider = new CliLoggingProvider();
        provider.initialize();
        Logger root = ((LoggerContext) provider.getLoggerFactory()).getLogger(Logger.ROOT_LOGGER_NAME);
        assertNotNull(root.getAppender("OPERATOR"));
        assertNull(root.getAppender("STDERR"));
        assertEquals(Level.DEBUG, root.getLevel());
    }

    @Test
    void aTestConfigurationIsLookedForInTheClassPathsDirectoriesOnly() {
        // This module's test class path has directories (target/classes, target/test-classes) and no logback-test.xml.
        assertFalse(CliLoggingProvider.testConfigurationOnClassPath());
    }
}
