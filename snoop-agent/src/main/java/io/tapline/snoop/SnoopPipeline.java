package io.tapline.snoop;

import io.tapline.snoop.iscsi.IscsiConnection;
import io.tapline.snoop.iscsi.LunGeometry;
import io.tapline.snoop.nbd.NbdConnection;
import io.tapline.snoop.tcp.FlowKey;
import io.tapline.snoop.tcp.StreamConsumer;
import io.tapline.snoop.tcp.TcpReassembler;
import io.tapline.snoop.tcp.TcpSegment;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SnoopPipeline.class);
    private final SnoopSink sink;
    private final SnoopConfig config;
    private final LunGeometry geometry;
    /** Every connection's write-nature commands, compared per volume across connections. */
    private final io.tapline.snoop.volume.ConcurrentOverlaps overlaps;
    private final Map<FlowKey, Connection> connections = new HashMap<>();
    private long segments;
    private long ignoredConnections;
    /** Flows ignored when joined mid-stream: each counted and logged once. */
    private final java.util.Set<FlowKey> ignoredFlows = new java.util.HashSet<>();
    private static final int MAX_IGNORED_FLOWS_KEPT = 65536;
    /** Server ports learned from connections whose handshake was seen: a later mid-stream join to one is decoded. */
    private final java.util.Set<Integer> learnedNbdPorts = new java.util.HashSet<>();
    private final java.util.Set<Integer> learnedIscsiPorts = new java.util.HashSet<>();
    /** The volumes each decoded server endpoint ({@code host:port}) served, for the ignored connections' GAPs. */
    private final Map<String, java.util.Set<VolumeKey>> volumesByServer = new HashMap<>();
    /**
     * Stand-in volumes: those of connections joined mid-stream, whose login or handshake (the IQN,
     * the export name) the capture never showed, named after their server instead. Their writes
     * belong to one of that server's named volumes, which one is unknown.
     */
    private final java.util.Set<VolumeKey> standIns = new java.util.HashSet<>();
    /** Servers whose stand-in volumes carried writes: a named volume of theirs seen later may lack them. */
    private final java.util.Set<String> serversWithUnattributedWrites = new java.util.HashSet<>();

    public SnoopPipeline(SnoopSink sink, SnoopConfig config) {
        this.sink = sink;
        this.config = config;
        this.geometry = new LunGeometry(config.blockSizeBytes());
        this.overlaps = new io.tapline.snoop.volume.ConcurrentOverlaps(sink::gap, id -> "id=" + id);
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
        if (s.payloadBytes() == 0) {
            return null; // an ACK or FIN after a connection ended, or before its data: nothing to decode yet
        }
        if (ignoredFlows.size() >= MAX_IGNORED_FLOWS_KEPT) {
            ignoredFlows.clear(); // a bound on memory: a flow forgotten here is only counted again
        }
        if (ignoredFlows.add(s.flow().canonical())) {
            ignoredConnections++;
            LOG.info("connection ignored client={} server={}: joined mid-stream on a port not named by --nbd-port or"
                    + " --iscsi-port (its protocol is unknown)", f.source(), f.destination());
        }
        return null;
    }

    private boolean known(int port) {
        return config.iscsiPorts().contains(port) || config.nbdPorts().contains(port) || learnedIscsiPorts.contains(port)
                || learnedNbdPorts.contains(port);
    }

    private boolean iscsiPort(int port) {
        return config.iscsiPorts().contains(port) || learnedIscsiPorts.contains(port);
    }

    /** Whether a stand-in volume's writes may be {@code named}'s: any NBD export of the server, an iSCSI target's same LUN. */
    private static boolean mayBe(VolumeKey standIn, VolumeKey named) {
        return standIn.bus() == named.bus() && (standIn.bus() == io.tapline.log.Bus.NBD || standIn.unit().equals(named.unit()));
    }

    /** End of capture: every held byte is delivered (holes as gaps) and every stream ended. */
    public void finish() {
        for (Connection c : new ArrayList<>(connections.values())) {
            c.finish();
        }
        connections.clear();
        gapVolumesOfIgnoredConnections();
    }

    /**
     * A connection joined mid-stream before its server's protocol showed (the server port was
     * learned later in the capture, from a connection whose handshake was seen) was left alone:
     * its writes are missing from that server's volumes, so each gets a whole-volume GAP.
     */
    private void gapVolumesOfIgnoredConnections() {
        for (FlowKey f : ignoredFlows) {
            for (String endpoint : List.of(f.source(), f.destination())) {
                for (VolumeKey v : volumesByServer.getOrDefault(endpoint, java.util.Set.of())) {
                    sink.gap(v, 0, SnoopSink.WHOLE_VOLUME, "a connection to this volume's server (" + f.source() + " - "
                            + f.destination() + ") was joined mid-stream before its protocol was known and not"
                            + " decoded: its writes are missing (name the port with --nbd-port or --iscsi-port)");
                }
            }
        }
        ignoredFlows.clear();
    }

    public long segments() {
        return segments;
    }

    /** TCP connections seen whose protocol is not iSCSI or NBD, or could not be told: left alone. */
    public long ignoredConnections() {
        return ignoredConnections;
    }

    /**
     * The pipeline's sink for one connection, noting each volume the server at {@code endpoint}
     * serves. A connection joined mid-stream ({@code midStream}) reports stand-in volumes: each of
     * their writes is a GAP on the server's named volumes it may belong to, and a named volume
     * first seen after such writes gets a whole-volume GAP (probe R D3: with {@code --iscsi-port}
     * a joined host's writes went to a portal-named volume, and the IQN-named volume of the same
     * LUN was reported consistent without them).
     */
    private SnoopSink volumesOf(String endpoint, boolean midStream) {
        java.util.Set<VolumeKey> volumes = volumesByServer.computeIfAbsent(endpoint, e -> new java.util.HashSet<>());
        return new SnoopSink() {
            @Override
            public void geometry(VolumeKey volume, long sizeBytes, int blockSizeBytes) {
                if (midStream && standIns.add(volume)) {
                    sink.standIn(volume);
                }
                boolean first = volumes.add(volume);
                sink.geometry(volume, sizeBytes, blockSizeBytes);
                if (first && !standIns.contains(volume) && serversWithUnattributedWrites.contains(endpoint)) {
                    sink.gap(volume, 0, SnoopSink.WHOLE_VOLUME, "a connection to this volume's server (" + endpoint
                            + ") was joined mid-stream: its writes, recorded under a stand-in name, may belong to"
                            + " this volume");
                }
            }

            @Override
            public void completed(VolumeKey volume, io.tapline.log.RecordKind kind, long offsetBytes, long lengthBytes,
                    int flags, io.tapline.log.Provenance provenance, byte[] payload) {
                sink.completed(volume, kind, offsetBytes, lengthBytes, flags, provenance, payload);
                if (midStream && standIns.contains(volume) && lengthBytes > 0 && kind.changesData()) {
                    serversWithUnattributedWrites.add(endpoint);
                    for (VolumeKey named : volumes) {
                        if (!standIns.contains(named) && mayBe(volume, named)) {
                            boolean sameUnits = volume.bus() == io.tapline.log.Bus.NBD
                                    || geometry.blockSize(named) == geometry.blockSize(volume);
                            sink.gap(named, sameUnits ? offsetBytes : 0,
                                    sameUnits ? lengthBytes : SnoopSink.WHOLE_VOLUME,
                                    "a write of a connection joined mid-stream (" + volume + ", its "
                                            + (volume.bus() == io.tapline.log.Bus.NBD ? "export" : "target")
                                            + " never seen) may belong to this volume");
                        }
                    }
                }
            }

            @Override
            public void gap(VolumeKey volume, long offsetBytes, long lengthBytes, String reason) {
                sink.gap(volume, offsetBytes, lengthBytes, reason);
            }

            @Override
            public void readSeen(VolumeKey volume) {
                sink.readSeen(volume);
            }
        };
    }

    /**
     * Holds both directions until the protocol is known, then hands them to the decoder. Bytes
     * before the decision are replayed to it: a capture that merged the two directions' taps may
     * show the client's first bytes (NBD's client flags) before the server's greeting, or the
     * target's login response before the initiator's login. A connection to a port named in
     * {@link SnoopConfig#nbdPorts()} or {@link SnoopConfig#iscsiPorts()} (one of them only) is
     * decided by its port.
     */
    private final class Sniffer {
        /** Bytes held per direction while undecided; past it (or with both sides seen) the connection is ignored. */
        private static final int MAX_HELD_BYTES = 64 << 10;
        final FlowKey flow;
        final boolean midStream;
        StreamConsumer toClientSide;
        StreamConsumer toServerSide;
        boolean decided;
        final java.io.ByteArrayOutputStream heldFromClient = new java.io.ByteArrayOutputStream();
        final java.io.ByteArrayOutputStream heldFromServer = new java.io.ByteArrayOutputStream();

        Sniffer(FlowKey flow, boolean midStream) {
            this.flow = flow;
            this.midStream = midStream;
            if (midStream) {
                decide(iscsiPort(flow.dstPort()));
            } else if (config.nbdPorts().contains(flow.dstPort()) != config.iscsiPorts().contains(flow.dstPort())) {
                decide(config.iscsiPorts().contains(flow.dstPort())); // a port named for one protocol only
            }
        }

        final StreamConsumer client = new Side(true);
        final StreamConsumer server = new Side(false);

        void decide(boolean iscsi) {
            decided = true;
            if (!midStream) {
                (iscsi ? learnedIscsiPorts : learnedNbdPorts).add(flow.dstPort());
            }
            SnoopSink sink = volumesOf(flow.destination(), midStream);
            if (iscsi) {
                IscsiConnection conn = new IscsiConnection(flow.source(), flow.destination(), sink, geometry, overlaps);
                toServerSide = conn.initiatorStream();
                toClientSide = conn.targetStream();
                if (midStream) {
                    conn.startMidStream();
                }
            } else {
                NbdConnection conn = new NbdConnection(flow.source(), flow.destination(), sink, overlaps);
                toServerSide = conn.clientStream();
                toClientSide = conn.serverStream();
                if (midStream) {
                    conn.startMidStream();
                }
            }
        }

        /** Neither side's first bytes name a protocol Tapline decodes: the connection is left alone, and said so. */
        void ignore(String why) {
            decided = true;
            ignoredConnections++;
            heldFromClient.reset();
            heldFromServer.reset();
            LOG.info("connection ignored client={} server={}: {} (name its server port with --nbd-port or"
                    + " --iscsi-port to decode it)", flow.source(), flow.destination(), why);
        }

        /** Hands what was held to the decoder, once the protocol is known. */
        void replayHeld() {
            byte[] c = heldFromClient.toByteArray();
            byte[] s = heldFromServer.toByteArray();
            heldFromClient.reset();
            heldFromServer.reset();
            if (c.length > 0) {
                toServerSide.data(c, 0, c.length);
            }
            if (s.length > 0) {
                toClientSide.data(s, 0, s.length);
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
                if (!decided && !sniff(bytes, offset, length)) {
                    return;
                }
                StreamConsumer t = target();
                if (t != null) {
                    t.data(bytes, offset, length);
                }
            }

            /** Whether these bytes go to a decoder now (false: held, or the connection is ignored). */
            private boolean sniff(byte[] bytes, int offset, int length) {
                java.io.ByteArrayOutputStream held = fromClient ? heldFromClient : heldFromServer;
                byte[] first = bytes;
                int from = offset;
                int n = length;
                if (held.size() > 0) { // the first bytes of this side arrived in pieces
                    held.write(bytes, offset, length);
                    first = held.toByteArray();
                    from = 0;
                    n = first.length;
                }
                boolean nbdGreeting = !fromClient && n >= 8 && new String(first, from, 8,
                        java.nio.charset.StandardCharsets.ISO_8859_1).equals("NBDMAGIC");
                boolean iscsiLogin = fromClient && n > 0 && (first[from] & 0x3F) == 0x03;
                if (nbdGreeting || iscsiLogin) {
                    if (held.size() > 0) {
                        held.reset();
                    }
                    decide(iscsiLogin);
                    target().data(first, from, n);
                    replayHeld();
                    return false;
                }
                boolean mayStillGreet = !fromClient && n < 8 && "NBDMAGIC".startsWith(new String(first, from, n,
                        java.nio.charset.StandardCharsets.ISO_8859_1));
                java.io.ByteArrayOutputStream other = fromClient ? heldFromServer : heldFromClient;
                if (!mayStillGreet && other.size() > 0) {
                    // both sides spoke and neither decides (a target's login response held until the
                    // initiator's login shows, an NBD client's flags until the greeting shows)
                    ignore("neither side's first bytes are an NBD greeting or an iSCSI login");
                    return false;
                }
                if (held.size() == 0) {
                    held.write(bytes, offset, length);
                }
                if (held.size() > MAX_HELD_BYTES) {
                    ignore("more than " + MAX_HELD_BYTES + " bytes before the protocol showed");
                }
                return false;
            }

            @Override
            public void gap(long lengthBytes) {
                StreamConsumer t = target();
                if (t != null) {
                    t.gap(lengthBytes);
                } else if (!decided) {
                    ignore("bytes lost before the protocol showed");
                }
            }

            @Override
            public void end() {
                StreamConsumer t = target();
                if (t != null) {
                    t.end();
                } else if (!decided && (heldFromClient.size() > 0 || heldFromServer.size() > 0)) {
                    ignore("the connection ended before its protocol showed");
                }
            }
        }
    }
}
