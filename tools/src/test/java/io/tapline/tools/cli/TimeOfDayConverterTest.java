package io.tapline.tools.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.TimeZone;
import org.junit.jupiter.api.Test;

/** The log lines' time of day is what logback's {@code %d{HH:mm:ss.SSS}} printed, in any zone. */
class TimeOfDayConverterTest {
    private static final String[] ZONES = {
        "UTC", "Europe/Berlin", "America/New_York", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe",
        "Pacific/Kiritimati", "Pacific/Pago_Pago"
    };

    @Test
    void everyZoneAndInstantAsJavaTimeFormatsIt() {
        long[] instants = {
            0, -1, 1, 999, 86_399_999, 86_400_000, -86_400_001,
            Instant.parse("2026-03-29T00:59:59.999Z").toEpochMilli(), // Berlin: the last millisecond of winter time
            Instant.parse("2026-03-29T01:00:00.000Z").toEpochMilli(), // and the first of summer time
            Instant.parse("2026-10-25T00:59:59.999Z").toEpochMilli(),
            Instant.parse("2026-10-25T01:00:00.000Z").toEpochMilli(),
            Instant.parse("2026-11-01T05:59:59.999Z").toEpochMilli(), // New York: back to standard time
            Instant.parse("2026-11-01T06:00:00.000Z").toEpochMilli(),
            Instant.parse("2026-12-03T23:59:59.999Z").toEpochMilli(),
            System.currentTimeMillis()
        };
        DateTimeFormatter pattern = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
        for (String id : ZONES) {
            TimeOfDayConverter converter = new TimeOfDayConverter(TimeZone.getTimeZone(id));
            for (long t : instants) {
                String expected = pattern.withZone(ZoneId.of(id)).format(Instant.ofEpochMilli(t));
                assertEquals(expected, converter.format(t), id + " at " + t);
            }
        }
    }

    @Test
    void aWholeDayMinuteByMinuteInAHalfHourZone() {
        TimeOfDayConverter converter = new TimeOfDayConverter(TimeZone.getTimeZone("Asia/Kolkata"));
        DateTimeFormatter pattern = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.of("Asia/Kolkata"));
        long start = Instant.parse("2026-12-03T00:00:00.123Z").toEpochMilli();
        for (long t = start; t < start + 86_400_000L; t += 60_007) {
            assertEquals(pattern.format(Instant.ofEpochMilli(t)), converter.format(t));
        }
    }
}
