package io.tapline.tools.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Every duration option's converter unless it names its own: the short form of
 * {@link DurationConverter} ({@code 30s}, {@code 5m}, {@code 12h}, {@code 7d}, {@code 500ms}) or
 * ISO-8601 ({@code PT30S}, {@code P7D}); more than zero. One clear line when it parses as neither
 * (not the JDK's class names). A class, not a lambda (the quick commands' class-data archive).
 */
public final class AnyDurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        String v = value.strip();
        if (v.startsWith("P") || v.startsWith("p") || v.startsWith("-P")) {
            Duration d;
            try {
                d = Duration.parse(v);
            } catch (DateTimeParseException e) {
                throw new TypeConversionException("'" + value + "' (expected: a duration such as 30s, 5m, 12h, 7d or"
                        + " ISO-8601 PT30S, P7D)");
            }
            if (d.isZero() || d.isNegative()) {
                throw new TypeConversionException("'" + value + "' (expected: more than zero)");
            }
            return d;
        }
        try {
            return new DurationConverter().convert(v);
        } catch (TypeConversionException e) {
            throw new TypeConversionException(e.getMessage().replace("(expected: a duration such as 30s, 5m, 1h or 500ms)",
                    "(expected: a duration such as 30s, 5m, 12h, 7d or ISO-8601 PT30S, P7D)"));
        }
    }
}
