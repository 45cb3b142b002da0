package io.tapline.log;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a cycle's RESYNC_BEGIN names the instant of its image (cycle mode): the text
 * {@code (frozen at MILLIS[ in group NAME])} in the epoch's reason. Every volume of a group is
 * frozen at one instant, so the replicas of a group hold the same instant where the same MILLIS
 * completed on all of them.
 *
 * @param frozenAtMillis the freeze instant, epoch milliseconds
 * @param group          the group's name; empty for a volume alone
 */
public record CycleMark(long frozenAtMillis, String group) {
    private static final Pattern TEXT = Pattern.compile("\\(frozen at (\\d+)(?: in group (\\S+))?\\)");

    /** The text a cycle's RESYNC_BEGIN reason carries. */
    public static String text(long frozenAtMillis, String group) {
        return "(frozen at " + frozenAtMillis + (group.isEmpty() ? "" : " in group " + group) + ")";
    }

    /** The mark in {@code text}, or null when it has none (not a cycle's BEGIN). */
    public static CycleMark find(String text) {
        Matcher m = TEXT.matcher(text);
        if (!m.find()) {
            return null;
        }
        return new CycleMark(Long.parseLong(m.group(1)), m.group(2) == null ? "" : m.group(2));
    }
}
