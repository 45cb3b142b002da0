package io.tapline.log;

/**
 * A whole-number {@code -D} setting read strictly (the shipper's, the image files'): absent gives
 * the default, a value that is not a whole number in its range stops the start with one line
 * (where {@code Long.getLong} would have taken a typo such as {@code 2ms} silently as the default).
 */
public final class BoundedProperty {
    private BoundedProperty() {
    }

    /**
     * The value of {@code -D<property>} in {@code 0..max}, else {@code defaultValue} when absent.
     *
     * @param unit what the number counts, for the error ({@code microseconds})
     * @throws IllegalArgumentException (one line) for anything else
     */
    public static long read(String property, long defaultValue, long max, String unit) {
        return read(property, defaultValue, max, 1, unit);
    }

    /**
     * As {@link #read(String, long, long, String)}, and the value must also be a multiple of
     * {@code multipleOf} ({@code 0} is one).
     */
    public static long read(String property, long defaultValue, long max, long multipleOf, String unit) {
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
        if (parsed < 0 || parsed > max || parsed % multipleOf != 0) {
            throw new IllegalArgumentException("-D" + property + ": " + value + " (expected: " + unit + ", 0.." + max
                    + (multipleOf == 1 ? "" : " in multiples of " + multipleOf) + ")");
        }
        return parsed;
    }
}
