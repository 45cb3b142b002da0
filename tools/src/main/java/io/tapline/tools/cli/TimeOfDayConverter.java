package io.tapline.tools.cli;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.util.TimeZone;

/**
 * {@code %timeOfDay} in the CLI's log pattern: an event's time as {@code HH:mm:ss.SSS} in the
 * JVM's default time zone, what {@code %d{HH:mm:ss.SSS}} printed. Logback's date converter asks
 * {@code java.time} for the default zone's rules, and {@code java.time} first looks for zone-rule
 * providers with a {@code ServiceLoader}, which opens every jar of the class path (about 35 ms of
 * each command's start here; docs/benchmarks.md#cli-class-path-walks). {@link TimeZone} gives the
 * offset, summer time included, from the JDK's own zone data without that search.
 */
public final class TimeOfDayConverter extends ClassicConverter {
    private static final long DAY_MILLIS = 86_400_000L;

    private final TimeZone zone;

    /** In the JVM's default time zone. */
    public TimeOfDayConverter() {
        this(TimeZone.getDefault());
    }

    TimeOfDayConverter(TimeZone zone) {
        this.zone = zone;
    }

    @Override
    public String convert(ILoggingEvent event) {
        return format(event.getTimeStamp());
    }

    /** {@code HH:mm:ss.SSS} of {@code epochMillis} in this converter's zone. */
    String format(long epochMillis) {
        long ofDay = Math.floorMod(epochMillis + zone.getOffset(epochMillis), DAY_MILLIS);
        int millis = (int) (ofDay % 1000);
        int seconds = (int) (ofDay / 1000 % 60);
        int minutes = (int) (ofDay / 60_000 % 60);
        int hours = (int) (ofDay / 3_600_000);
        StringBuilder s = new StringBuilder(12);
        twoDigits(s, hours).append(':');
        twoDigits(s, minutes).append(':');
        twoDigits(s, seconds).append('.');
        return s.append((char) ('0' + millis / 100)).append((char) ('0' + millis / 10 % 10))
                .append((char) ('0' + millis % 10)).toString();
    }

    private static StringBuilder twoDigits(StringBuilder s, int value) {
        return s.append((char) ('0' + value / 10)).append((char) ('0' + value % 10));
    }
}
