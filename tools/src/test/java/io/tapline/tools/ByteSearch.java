package io.tapline.tools;

/** Byte-level searches the capture tests share (a payload on the wire, a secret in a capture). */
final class ByteSearch {
    private ByteSearch() {
    }

    /** Whether {@code needle} occurs anywhere in {@code haystack}. */
    static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
