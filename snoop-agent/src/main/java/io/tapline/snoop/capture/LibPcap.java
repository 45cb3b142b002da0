package io.tapline.snoop.capture;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The few libpcap calls the snoop makes itself through JNA (the library Pcap4J loads: "pcap"):
 * compiling a filter for capture files ({@link BpfCompiler}) and the live capture thread's loop
 * ({@link DirectPcapLoop}). Everything else goes through Pcap4J.
 */
interface LibPcap extends Library {
    /** Loaded once, on first use. */
    final class Holder {
        static final LibPcap PCAP = Native.load("pcap", LibPcap.class);

        private Holder() {
        }
    }

    /** libpcap's {@code pcap_handler}. */
    interface PacketCallback extends Callback {
        void invoke(Pointer user, Pointer header, Pointer bytes);
    }

    Pointer pcap_open_dead(int linkType, int snaplen);

    int pcap_compile(Pointer pcap, Pointer program, String expression, int optimize, int netmask);

    String pcap_geterr(Pointer pcap);

    void pcap_freecode(Pointer program);

    void pcap_close(Pointer pcap);

    int pcap_dispatch(Pointer pcap, int count, PacketCallback callback, Pointer user);
}
