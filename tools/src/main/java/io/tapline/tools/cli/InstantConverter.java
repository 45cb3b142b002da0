package io.tapline.tools.cli;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A time option ({@code --as-of}, {@code --to-time}, {@code --from}...): ISO-8601 in UTC, said so
 * when it does not parse (not the JDK's class names). A class, not a lambda: the quick commands'
 * class-data archive holds it (a lambda's proxy made picocli's converter interface load from its jar,
 * a walk of every jar of the class path at each start).
 */
public final class InstantConverter implements ITypeConverter<Instant> {
    @Override
    public Instant convert(String value) {
        try {
            return Instant.parse(value.strip());
        } catch (DateTimeParseException e) {
            throw new TypeConversionException("time: '" + value + "' (expected: ISO-8601 in UTC, e.g. 2026-01-01T00:00:00Z)");
        }
    }

    /**
     * Refuses (exit 2) a point-in-time option after now: a state the replica was never in, most
     * often a time zone's mistake. {@code rollback --to-time} and {@code image --as-of} say it alike.
     */
    public static void notAfterNow(String option, Instant time) {
        Instant now = Instant.now();
        if (time != null && time.isAfter(now)) {
            throw new CliFailure(option + ": " + time + " (expected: not after now, " + now + ")", 2);
        }
    }
}
