package io.tapline.tools.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses sizes such as {@code 4096}, {@code 512K}, {@code 64M}, {@code 4G}, {@code 1T}, {@code 2P}, {@code 1E}
 * (binary multiples, an optional trailing {@code B} or {@code iB}) into a positive byte count below 2^63.
 */
public final class ByteSizeConverter implements ITypeConverter<Long> {
    /** A size or 0 (for options where 0 means "no limit"). */
    public static final class OrZero implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return value.strip().equals("0") ? 0L : parse(value);
        }
    }

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    /** Parses {@code value}; throws {@link TypeConversionException} with the reason. */
    public static long parse(String value) {
        String s = value.trim().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                case 'P' -> shift = 50;
                case 'E' -> shift = 60;
                default -> shift = 0;
            }
        }
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        long n;
        try {
            n = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new TypeConversionException("size: '" + value + "' (expected: a positive number of bytes, e.g. 4096, 64M, 4G)");
        }
        if (n <= 0) {
            throw new TypeConversionException("size: '" + value + "' (expected: > 0)");
        }
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new TypeConversionException("size: '" + value + "' (expected: below 8E, 2^63 bytes)");
        }
        return n << shift;
    }
}
