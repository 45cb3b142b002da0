package io.tapline.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Whether a finished pcap import is an exact copy: exit 0 says every write of the file is on every
 * replica and nothing was lost on the way; {@link #INCOMPLETE_EXIT} says the import ran to its end
 * but the replicas are not that copy (GAPs recorded, a damaged file, a replica that reported
 * anything but consistent, or no volume found in a file that held connections), so a script that
 * only reads the exit status never takes a partial import for a whole one.
 */
final class ImportOutcome {
    /** The exit status of an import that ran to its end without an exact copy. */
    static final int INCOMPLETE_EXIT = 3;

    private ImportOutcome() {
    }

    /** One line naming what keeps the import from being an exact copy, or null when nothing does. */
    @SuppressWarnings("unchecked")
    static String incomplete(Map<String, Object> summary) {
        List<String> why = new ArrayList<>();
        Object fileError = summary.get("fileError");
        if (fileError != null) {
            why.add("the capture file is damaged (" + fileError + ")");
        }
        Map<String, Map<String, Object>> volumes = (Map<String, Map<String, Object>>) summary.get("volumes");
        long gaps = 0;
        for (Map<String, Object> v : volumes == null ? List.<Map<String, Object>>of() : volumes.values()) {
            gaps += ((Number) v.getOrDefault("gaps", 0L)).longValue();
        }
        if (gaps > 0) {
            why.add(gaps + " GAP(s) recorded: ranges whose writes the capture does not hold");
        }
        Object ignored = summary.get("ignoredConnections");
        if ((volumes == null || volumes.isEmpty()) && ignored instanceof Number n && n.longValue() > 0) {
            why.add("no volume found: " + n + " connection(s) ignored (name the server port with --nbd-port or"
                    + " --iscsi-port)");
        }
        Object remotes = summary.get("remotes");
        if (remotes instanceof List<?> list) {
            for (Object o : list) {
                Map<String, Object> r = (Map<String, Object>) o;
                Object state = r.get("replica");
                if (!"consistent".equals(state)) {
                    why.add("replica of " + r.get("volume") + " on " + r.get("remote") + " is " + state);
                }
            }
        }
        return why.isEmpty() ? null : String.join("; ", why) + " (exit " + INCOMPLETE_EXIT + "; the summary has the"
                + " details)";
    }
}
