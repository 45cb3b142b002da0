package io.tapline.snoop.iscsi;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Parses the text key=value pairs of Login and Text PDUs (RFC 7143 §6.1: NUL-terminated UTF-8). */
final class IscsiKeys {
    private IscsiKeys() {
    }

    static Map<String, String> parse(byte[] data) {
        Map<String, String> keys = new LinkedHashMap<>();
        int start = 0;
        for (int i = 0; i <= data.length; i++) {
            if (i == data.length || data[i] == 0) {
                if (i > start) {
                    String pair = new String(data, start, i - start, StandardCharsets.UTF_8);
                    int eq = pair.indexOf('=');
                    if (eq > 0) {
                        keys.put(pair.substring(0, eq), pair.substring(eq + 1));
                    }
                }
                start = i + 1;
            }
        }
        return keys;
    }
}
