package io.tapline.log;

/**
 * Text a peer sent, made fit to quote in a log line or a reply: each control character as a
 * {@code \\u} escape of four hex digits, so that a name stays one line and cannot forge another.
 * Stateless.
 */
public final class PrintableText {
    private PrintableText() {
    }

    /** {@code s} with each control character escaped; {@code s} itself when it has none. */
    public static String of(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                if (b == null) {
                    b = new StringBuilder(s.length() + 8).append(s, 0, i);
                }
                b.append(String.format("\\u%04x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** {@link #of} of at most {@code maxChars} of {@code s}, its full length named after a cut. */
    public static String of(String s, int maxChars) {
        return s.length() <= maxChars ? of(s) : of(s.substring(0, maxChars)) + "... (" + s.length() + " characters)";
    }
}
