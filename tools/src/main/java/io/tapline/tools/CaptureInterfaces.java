package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pcap4j.core.PcapAddress;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface;
import org.pcap4j.core.Pcaps;

/**
 * {@code tapline snoop --list-interfaces}: the devices libpcap can capture on, numbered and
 * flagged as {@code tcpdump -D} prints them ({@code 1.eth0 [Up, Running]}), or as JSON.
 */
final class CaptureInterfaces {
    private CaptureInterfaces() {
    }

    /** Prints the list on stdout; exit code 0. */
    static int print(boolean json) {
        List<PcapNetworkInterface> devices;
        try {
            devices = Pcaps.findAllDevs();
        } catch (PcapNativeException e) {
            throw new CliFailure("list interfaces: " + e.getMessage());
        }
        List<Map<String, Object>> out = new ArrayList<>();
        int index = 1;
        for (PcapNetworkInterface d : devices) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", index++);
            m.put("name", d.getName());
            m.put("description", d.getDescription());
            m.put("up", d.isUp());
            m.put("running", d.isRunning());
            m.put("loopback", d.isLoopBack());
            List<String> addresses = new ArrayList<>();
            for (PcapAddress a : d.getAddresses()) {
                if (a.getAddress() != null) {
                    addresses.add(a.getAddress().getHostAddress());
                }
            }
            m.put("addresses", addresses);
            out.add(m);
        }
        if (json) {
            System.out.println(Json.write(out));
            return 0;
        }
        for (Map<String, Object> m : out) {
            List<String> flags = new ArrayList<>();
            if ((Boolean) m.get("up")) {
                flags.add("Up");
            }
            if ((Boolean) m.get("running")) {
                flags.add("Running");
            }
            if ((Boolean) m.get("loopback")) {
                flags.add("Loopback");
            }
            System.out.println(m.get("index") + "." + m.get("name")
                    + (m.get("description") == null ? "" : " (" + m.get("description") + ")")
                    + (flags.isEmpty() ? "" : " [" + String.join(", ", flags) + "]"));
        }
        return 0;
    }
}
