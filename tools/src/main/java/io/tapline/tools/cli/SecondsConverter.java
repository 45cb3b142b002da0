package io.tapline.tools.cli;

import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses an option counted in whole seconds: a bare number is seconds as before (0 and negative
 * numbers are left to the command's own check), and any duration {@link AnyDurationConverter}
 * takes ({@code 30s}, {@code 5m}, {@code 2h}, {@code PT30S}) is rounded up to whole seconds, so that
 * {@code --wait-synced 2m} waits as {@code --wait-synced 120} does.
 */
public final class SecondsConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
        String v = value.strip();
        if (v.matches("-?\\d{1,9}")) {
            return Integer.parseInt(v);
        }
        Duration d = new AnyDurationConverter().convert(v);
        long seconds = d.getSeconds() + (d.getNano() > 0 ? 1 : 0);
        if (seconds > Integer.MAX_VALUE) {
            throw new TypeConversionException("'" + value + "' (expected: at most " + Integer.MAX_VALUE + " seconds)");
        }
        return (int) seconds;
    }
}
