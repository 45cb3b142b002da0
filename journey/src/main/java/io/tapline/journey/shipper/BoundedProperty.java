package io.tapline.journey.shipper;

/**
 * A whole-number {@code -D} setting of the shipper read strictly: absent gives the default, a
 * value that is not a whole number in its range stops the start with one line (where
 * {@code Long.getLong} would have taken a typo such as {@code 2ms} silently as the default).
 */
final class BoundedProperty {
    private BoundedProperty() {
    }

    /**
     * The value of {@code -D<property>} in {@code 0..max}, else {@code defaultValue} when absent.
     *
     * @param unit what the number counts, for the error ({@code microseconds})
     * @throws IllegalArgumentException (one line) for anything else
     */
    static long read(String property, long defaultValue, long max, String unit) {
        String value = System.getProperty(property);
        if (value == null) {
            return defaultValue;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            parsed = -1;
        }
        if (parsed < 0 || parsed > max) {
            throw new IllegalArgumentException("-D" + property + ": " + value + " (expected: " + unit + ", 0.." + max + ")");
        }
        return parsed;
    }
}
