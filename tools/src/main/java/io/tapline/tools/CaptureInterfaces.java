package io.tapline.tools;

import io.tapline.snoop.capture.CaptureInterface;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code tapline snoop --list-interfaces}: the devices libpcap can capture on, numbered and
 * flagged as {@code tcpdump -D} prints them ({@code 1.eth0 [Up, Running]}), or as JSON.
 */
final class CaptureInterfaces {
    private CaptureInterfaces() {
    }

    /** Prints the list on stdout; exit code 0. */
    static int print(boolean json) throws IOException {
        List<CaptureInterface> devices = CaptureInterface.all();
        if (json) {
            List<Map<String, Object>> out = new ArrayList<>();
            int index = 1;
            for (CaptureInterface d : devices) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("index", index++);
                m.put("name", d.name());
                m.put("description", d.description());
                m.put("up", d.up());
                m.put("running", d.running());
                m.put("loopback", d.loopback());
                m.put("addresses", d.addresses());
                out.add(m);
            }
            System.out.println(Json.write(out));
            return 0;
        }
        int index = 1;
        for (CaptureInterface d : devices) {
            List<String> flags = new ArrayList<>();
            if (d.up()) {
                flags.add("Up");
            }
            if (d.running()) {
                flags.add("Running");
            }
            if (d.loopback()) {
                flags.add("Loopback");
            }
            System.out.println(index++ + "." + d.name() + (d.description() == null ? "" : " (" + d.description() + ")")
                    + (flags.isEmpty() ? "" : " [" + String.join(", ", flags) + "]"));
        }
        return 0;
    }
}
