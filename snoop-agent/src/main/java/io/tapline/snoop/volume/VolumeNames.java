package io.tapline.snoop.volume;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Names the volume of a {@link VolumeKey}: the first {@code --volume-map PATTERN=NAME} whose glob
 * pattern ({@code *} any run of characters, {@code ?} one) matches the key's
 * {@link VolumeKey#naturalKey() natural key} gives the name; otherwise the default rule:
 * <ul>
 *   <li>iSCSI: {@code <target>-lun<N>}, e.g. {@code iqn.2024-01.test.rig_lun0-lun1};</li>
 *   <li>NBD: {@code nbd-<host>_<port>-<export>}, or {@code nbd-<host>_<port>} for the default export;</li>
 * </ul>
 * with every character outside {@code [A-Za-z0-9._-]} replaced by {@code _} and the result cut
 * to 128 characters. The name is the capture-buffer directory and the replica's volume id.
 * Immutable, thread-safe.
 */
public final class VolumeNames {
    private static final int MAX_CHARS = 128;
    private final Map<Pattern, String> mappings = new LinkedHashMap<>();

    /** @param mappings {@code PATTERN=NAME} entries, tried in order */
    public VolumeNames(Iterable<String> mappings) {
        for (String m : mappings) {
            int eq = m.lastIndexOf('=');
            if (eq <= 0 || eq == m.length() - 1) {
                throw new IllegalArgumentException("volume map: \"" + m + "\" (expected: PATTERN=NAME)");
            }
            String name = m.substring(eq + 1);
            if (!name.equals(sanitize(name))) {
                throw new IllegalArgumentException("volume map name: \"" + name + "\" (expected: [A-Za-z0-9._-]{1,128})");
            }
            this.mappings.put(glob(m.substring(0, eq)), name);
        }
    }

    public String name(VolumeKey key) {
        String natural = key.naturalKey();
        for (Map.Entry<Pattern, String> e : mappings.entrySet()) {
            if (e.getKey().matcher(natural).matches()) {
                return e.getValue();
            }
        }
        return switch (key.bus()) {
            case ISCSI -> sanitize(key.target() + "-lun" + key.unit());
            default -> sanitize("nbd-" + key.target().replace(':', '_') + (key.unit().isEmpty() ? "" : "-" + key.unit()));
        };
    }

    static String sanitize(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), MAX_CHARS));
        for (int i = 0; i < s.length() && sb.length() < MAX_CHARS; i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
                    || c == '_' || c == '-';
            sb.append(ok ? c : '_');
        }
        String out = sb.toString();
        return out.equals(".") || out.equals("..") || out.isEmpty() ? "_" + out : out;
    }

    private static Pattern glob(String g) {
        StringBuilder re = new StringBuilder();
        for (char c : g.toCharArray()) {
            re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
        }
        return Pattern.compile(re.toString());
    }
}
