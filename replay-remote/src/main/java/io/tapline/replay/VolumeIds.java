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
        if (id.equals(".") || id.contains("..")) {
            return "volumeId: \"" + id + "\" (expected: not \".\", no \"..\")";
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c == '/' || c == '\\') {
                return "volumeId: contains a path separator at index " + i + " (expected: none)";
            }
            if (Character.isISOControl(c)) {
                return "volumeId: contains control character 0x" + Integer.toHexString(c) + " at index " + i
                        + " (expected: none)";
            }
        }
        return null;
    }
}
