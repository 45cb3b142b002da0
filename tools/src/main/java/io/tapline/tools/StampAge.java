package io.tapline.tools;

/**
 * Whether a status file a running process rewrites about once a second is fresh, from the wall
 * clock stamp its writer put in it ({@code updatedAtMillis}, this host's clock). A stamp more than a
 * second ahead of now is not fresh either: the clock stepped back after the file was written (an
 * NTP correction, a VM restored) and its writer has not rewritten it since, which a live writer does
 * within a second; without this bound a stopped process's last file read as fresh for as long as
 * the step (probe Y D2: a killed wedge shown {@code synced}, {@code connected}, for 10 minutes).
 */
final class StampAge {
    /** How far ahead of now a stamp may be (clock granularity, a rewrite racing the read). */
    static final long FUTURE_TOLERANCE_MILLIS = 1_000;

    private StampAge() {
    }

    /** Whether a file stamped at {@code stampMillis} is fresh at {@code nowMillis}: younger than {@code freshMillis}, not from the future. */
    static boolean fresh(long stampMillis, long nowMillis, long freshMillis) {
        long age = ageMillis(stampMillis, nowMillis);
        return age >= 0 && age < freshMillis;
    }

    /**
     * How old a wall-clock stamp is at {@code nowMillis}, at least 0; -1 (not known) when it is
     * more than {@link #FUTURE_TOLERANCE_MILLIS} ahead: the clock stepped back since it was taken
     * (a status file's stamp, a record's capture time).
     */
    static long ageMillis(long stampMillis, long nowMillis) {
        long age = nowMillis - stampMillis;
        return age <= -FUTURE_TOLERANCE_MILLIS ? -1 : Math.max(0, age);
    }
}
