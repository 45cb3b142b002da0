package io.tapline.tools.cli;

import java.time.Duration;
import picocli.CommandLine.ITypeConverter;

/** A {@link DurationConverter} duration, or {@code 0} / {@code never}: {@link Duration#ZERO}, "never". */
public final class DurationOrNeverConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        String v = value.trim();
        if (v.equals("0") || v.equalsIgnoreCase("never")) {
            return Duration.ZERO;
        }
        return new DurationConverter().convert(v);
    }
}
