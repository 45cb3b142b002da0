package io.tapline.snoop;

import io.tapline.snoop.iscsi.IscsiConnection;
import io.tapline.snoop.iscsi.LunGeometry;
import io.tapline.snoop.nbd.NbdConnection;
import io.tapline.snoop.tcp.FlowKey;
import io.tapline.snoop.tcp.StreamConsumer;
import io.tapline.snoop.tcp.TcpReassembler;
import io.tapline.snoop.tcp.TcpSegment;
import io.tapline.snoop.volume.SnoopSink;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * From TCP segments to volume events: keeps one reassembler pair per TCP connection, tells iSCSI
 * from NBD, and feeds the protocol decoders, which report to the {@link SnoopSink}.
 *
 * <p>A connection whose SYN was seen is classified by its first bytes (an iSCSI Login Request
 * from the client, {@code NBDMAGIC} from the server); one joined mid-stream by its server port
 * ({@link SnoopConfig#iscsiPorts()}, {@link SnoopConfig#nbdPorts()}) and decoded from the first
 * plausible header, with a whole-volume GAP for what came before. Connections on other ports
 * joined mid-stream are ignored and counted.
 *
 * <p>Not thread-safe: the capture thread owns it.
 */
public final class SnoopPipeline {
    private final SnoopSink sink;
    private final SnoopConfig config;
    private final LunGeometry geometry;
    private final Map<FlowKey, Connection> connections = new HashMap<>();
    private long segments;
    private long ignoredConnections;

    public SnoopPipeline(SnoopSink sink, SnoopConfig config) {
        this.sink = sink;
        this.config = config;
        this.geometry = new LunGeometry(config.blockSizeBytes());
    }

    /** One TCP connection: the client-to-server and server-to-client reassemblers. */
    private final class Connection {
        final FlowKey clientToServer;
        final TcpReassembler fromClient;
        final TcpReassembler fromServer;
        final Sniffer sniffer;

        Connection(FlowKey clientToServer, boolean midStream) {
            this.clientToServer = clientToServer;
            this.sniffer = new Sniffer(clientToServer, midStream);
            this.fromClient = new TcpReassembler(sniffer.client, config.maxPendingBytes());
            this.fromServer = new TcpReassembler(sniffer.server, config.maxPendingBytes());
        }

        boolean ended() {
            return fromClient.ended() && fromServer.ended();
        }

        void finish() {
            fromClient.finish();
            fromServer.finish();
        }
    }

    public void segment(TcpSegment s) {
        segments++;
        FlowKey key = s.flow().canonical();
        Connection c = connections.get(key);
        boolean freshSyn = s.syn() && (s.flags() & TcpSegment.ACK) == 0;
        if (c != null && freshSyn && (c.ended() || !s.flow().equals(c.clientToServer))) {
            c.finish();
            connections.remove(key);
            c = null;
        }
        if (c == null) {
            c = open(s, freshSyn);
            if (c == null) {
                return;
            }
            connections.put(key, c);
        }
        (s.flow().equals(c.clientToServer) ? c.fromClient : c.fromServer).segment(s);
        if (c.ended()) {
            connections.remove(key);
        }
    }

    private Connection open(TcpSegment s, boolean syn) {
        if (syn) {
            return new Connection(s.flow(), false);
        }
        FlowKey f = s.flow();
        if (known(f.dstPort())) {
            return new Connection(f, true);
        }
        if (known(f.srcPort())) {
            return new Connection(f.reversed(), true);
        }
        ignoredConnections++;
        return null;
    }

    private boolean known(int port) {
        return config.iscsiPorts().contains(port) || config.nbdPorts().contains(port);
    }

    /** End of capture: every held byte is delivered (holes as gaps) and every stream ended. */
    public void finish() {
        for (Connection c : new ArrayList<>(connections.values())) {
            c.finish();
        }
        connections.clear();
    }

    public long segments() {
        return segments;
    }

    public long ignoredConnections() {
        return ignoredConnections;
    }

    /**
     * Holds both directions until the protocol is known, then hands them to the decoder. Bytes
     * before the decision are replayed to it.
     */
    private final class Sniffer {
        final FlowKey flow;
        final boolean midStream;
        StreamConsumer toClientSide;
        StreamConsumer toServerSide;
        boolean decided;

        Sniffer(FlowKey flow, boolean midStream) {
            this.flow = flow;
            this.midStream = midStream;
            if (midStream) {
                decide(config.iscsiPorts().contains(flow.dstPort()));
            }
        }

        final StreamConsumer client = new Side(true);
        final StreamConsumer server = new Side(false);

        void decide(boolean iscsi) {
            decided = true;
            if (iscsi) {
                IscsiConnection conn = new IscsiConnection(flow.source(), flow.destination(), sink, geometry);
                toServerSide = conn.initiatorStream();
                toClientSide = conn.targetStream();
                if (midStream) {
                    conn.startMidStream();
                }
            } else {
                NbdConnection conn = new NbdConnection(flow.source(), flow.destination(), sink);
                toServerSide = conn.clientStream();
                toClientSide = conn.serverStream();
                if (midStream) {
                    conn.startMidStream();
                }
            }
        }

        private final class Side implements StreamConsumer {
            final boolean fromClient;

            Side(boolean fromClient) {
                this.fromClient = fromClient;
            }

            StreamConsumer target() {
                return fromClient ? toServerSide : toClientSide;
            }

            @Override
            public void data(byte[] bytes, int offset, int length) {
                if (!decided) {
                    boolean nbdGreeting = !fromClient && length >= 8 && new String(bytes, offset, 8,
                            java.nio.charset.StandardCharsets.ISO_8859_1).equals("NBDMAGIC");
                    boolean iscsiLogin = fromClient && (bytes[offset] & 0x3F) == 0x03;
                    if (!nbdGreeting && !iscsiLogin) {
                        ignoredConnections++;
                        decided = true;
                        return;
                    }
                    decide(iscsiLogin);
                }
                StreamConsumer t = target();
                if (t != null) {
                    t.data(bytes, offset, length);
                }
            }

            @Override
            public void gap(long lengthBytes) {
                StreamConsumer t = target();
                if (t != null) {
                    t.gap(lengthBytes);
                }
            }

            @Override
            public void end() {
                StreamConsumer t = target();
                if (t != null) {
                    t.end();
                }
            }
        }
    }
}
