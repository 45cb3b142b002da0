package io.tapline.replay;

import java.nio.charset.StandardCharsets;

/** The rule for volume ids, which name directories under the data directory. */
public final class VolumeIds {
    private VolumeIds() {
    }

    /** Returns why {@code id} is not a valid volume id, or null when it is. */
    public static String problem(String id) {
        int bytes = id.getBytes(StandardCharsets.UTF_8).length;
        if (bytes < 1 || bytes > 255) {
            return "volumeId: " + bytes + " UTF-8 bytes (expected: 1..255)";
        }
        // Control characters first: the other messages quote the id, and a quoted line break forged log lines.
        String control = controlCharacter("volumeId", id);
        if (control != null) {
            return control;
        }
        if (id.equals(".") || id.contains("..")) {
            return "volumeId: \"" + id + "\" (expected: not \".\", no \"..\")";
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c == '/' || c == '\\') {
                return "volumeId: contains a path separator at index " + i + " (expected: none)";
            }
        }
        return null;
    }

    /**
     * Returns why a name a peer sends ({@code sourceId}, an administrator's claimed actor) may not be
     * logged, stored and shown as it is, or null: 1..1024 UTF-8 bytes with no control characters (a
     * line break in one wrote forged lines into the replayer's log: probe J D11).
     */
    public static String nameProblem(String field, String name) {
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes < 1 || bytes > 1024) {
            return field + ": " + bytes + " UTF-8 bytes (expected: 1..1024)";
        }
        return controlCharacter(field, name);
    }

    private static String controlCharacter(String field, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c)) {
                return field + ": contains control character 0x" + Integer.toHexString(c) + " at index " + i
                        + " (expected: none)";
            }
        }
        return null;
    }
}
