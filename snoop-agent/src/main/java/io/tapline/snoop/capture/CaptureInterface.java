package io.tapline.snoop.capture;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.pcap4j.core.PcapAddress;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface;
import org.pcap4j.core.Pcaps;

/**
 * A device live capture can open, as libpcap's {@code pcap_findalldevs} lists it (the list
 * {@code tcpdump -D} prints, in the same order).
 *
 * @param description libpcap's description, or null
 * @param addresses   the device's IP addresses
 */
public record CaptureInterface(String name, String description, boolean up, boolean running, boolean loopback,
        List<String> addresses) {

    /** Every capture device, in libpcap's order. */
    public static List<CaptureInterface> all() throws IOException {
        List<PcapNetworkInterface> devices;
        try {
            devices = Pcaps.findAllDevs();
        } catch (PcapNativeException e) {
            throw new IOException("list interfaces: " + e.getMessage(), e);
        }
        List<CaptureInterface> out = new ArrayList<>();
        for (PcapNetworkInterface d : devices) {
            List<String> addresses = new ArrayList<>();
            for (PcapAddress a : d.getAddresses()) {
                if (a.getAddress() != null) {
                    addresses.add(a.getAddress().getHostAddress());
                }
            }
            out.add(new CaptureInterface(d.getName(), d.getDescription(), d.isUp(), d.isRunning(), d.isLoopBack(),
                    List.copyOf(addresses)));
        }
        return out;
    }
}
