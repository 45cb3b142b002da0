package io.tapline.snoop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdOption;
import io.tapline.snoop.tcp.FlowKey;
import io.tapline.snoop.tcp.TcpSegment;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * How the pipeline tells NBD from iSCSI on connections a capture shows in an awkward order: the
 * client's first bytes before the server's greeting (two taps merged with a skew), and a
 * connection joined mid-stream on a port learned only later in the file.
 */
class SnoopPipelineClassifyTest {
    private static final int PORT = 20809; // not a port the configuration names
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long SIZE = 1L << 20;
    private static final SnoopConfig CONFIG = new SnoopConfig(Set.of(3260), Set.of(10809), 512, 32L << 20);

    private final RecordingSink sink = new RecordingSink();
    private final SnoopPipeline pipeline = new SnoopPipeline(sink, CONFIG);

    /** One direction of one connection: its segments, numbered from its initial sequence. */
    private final class Side {
        final FlowKey flow;
        long next;

        Side(FlowKey flow, long isn) {
            this.flow = flow;
            this.next = isn;
        }

        void syn(boolean ack) {
            pipeline.segment(new TcpSegment(flow, next, TcpSegment.SYN | (ack ? TcpSegment.ACK : 0), new byte[0], 0, 0,
                    0, 0));
            next++;
        }

        void send(byte[] data) {
            pipeline.segment(new TcpSegment(flow, next, TcpSegment.ACK, data, 0, data.length, data.length, 0));
            next += data.length;
        }
    }

    private static FlowKey flow(int srcPort, int dstPort) {
        return new FlowKey(FlowKey.IPV4_MARK, 0x7F000001L, srcPort, FlowKey.IPV4_MARK, 0x7F000001L, dstPort);
    }

    private static byte[] greeting() {
        return ByteBuffer.allocate(18).putLong(0x4e42444d41474943L).putLong(IHAVEOPT).putShort((short) 3).array();
    }

    private static byte[] clientFlagsAndExportName() {
        byte[] name = "disk".getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + 16 + name.length).putInt(3).putLong(IHAVEOPT)
                .putInt(NbdOption.EXPORT_NAME.wireValue()).putInt(name.length).put(name).array();
    }

    private static byte[] exportReply() {
        return ByteBuffer.allocate(10).putLong(SIZE).putShort((short) 0x1ff).array();
    }

    private static byte[] write(long cookie, long offset, byte[] data) {
        return ByteBuffer.allocate(28 + data.length).putInt(0x25609513).putShort((short) 0)
                .putShort((short) NbdCommand.WRITE.wireValue()).putLong(cookie).putLong(offset).putInt(data.length)
                .put(data).array();
    }

    private static byte[] reply(long cookie) {
        return ByteBuffer.allocate(16).putInt(0x67446698).putInt(0).putLong(cookie).array();
    }

    @Test
    void theClientsFirstBytesBeforeTheGreetingAreHeldUntilTheGreetingDecides() {
        Side client = new Side(flow(40000, PORT), 1000);
        Side server = new Side(flow(PORT, 40000), 9000);
        client.syn(false);
        server.syn(true);
        client.send(clientFlagsAndExportName()); // the merged capture shows the client first
        server.send(greeting());
        server.send(exportReply());
        byte[] data = new byte[4096];
        java.util.Arrays.fill(data, (byte) 7);
        client.send(write(1, 8192, data));
        server.send(reply(1));
        pipeline.finish();
        List<RecordingSink.Event> writes = sink.of("WRITE");
        assertEquals(1, writes.size(), sink.events.toString());
        assertEquals(8192, writes.get(0).offsetBytes());
        assertArrayEquals(data, writes.get(0).payload());
        assertEquals(List.of(), sink.of("GAP"));
        assertEquals(0, pipeline.ignoredConnections());
    }

    @Test
    void aPortNamedForBothProtocolsIsDecidedByTheFirstBytes() {
        SnoopPipeline both = new SnoopPipeline(sink, new SnoopConfig(Set.of(PORT), Set.of(PORT), 512, 32L << 20));
        FlowKey c2s = flow(40004, PORT);
        FlowKey s2c = flow(PORT, 40004);
        both.segment(new TcpSegment(c2s, 1000, TcpSegment.SYN, new byte[0], 0, 0, 0, 0));
        both.segment(new TcpSegment(s2c, 9000, TcpSegment.SYN | TcpSegment.ACK, new byte[0], 0, 0, 0, 0));
        byte[] g = greeting();
        both.segment(new TcpSegment(s2c, 9001, TcpSegment.ACK, g, 0, g.length, g.length, 0));
        byte[] c = clientFlagsAndExportName();
        both.segment(new TcpSegment(c2s, 1001, TcpSegment.ACK, c, 0, c.length, c.length, 0));
        byte[] e = exportReply();
        both.segment(new TcpSegment(s2c, 9001 + g.length, TcpSegment.ACK, e, 0, e.length, e.length, 0));
        both.finish();
        assertEquals(io.tapline.log.Bus.NBD, sink.of("GEOMETRY").get(0).volume().bus(), sink.events.toString());
    }

    @Test
    void aConnectionJoinedBeforeItsServersPortWasLearnedGapsThatServersVolumes() {
        // a session already running when the capture began (a rotated capture's second file) ...
        Side early = new Side(flow(40001, PORT), 5000);
        early.send(write(9, 0, new byte[512]));
        // ... then a new session whose handshake is seen: the server's port is NBD from now on
        Side client = new Side(flow(40002, PORT), 1000);
        Side server = new Side(flow(PORT, 40002), 9000);
        client.syn(false);
        server.syn(true);
        server.send(greeting());
        client.send(clientFlagsAndExportName());
        server.send(exportReply());
        client.send(write(1, 0, new byte[512]));
        server.send(reply(1));
        pipeline.finish();
        assertEquals(1, pipeline.ignoredConnections());
        List<RecordingSink.Event> gaps = sink.of("GAP");
        assertEquals(1, gaps.size(), sink.events.toString());
        assertEquals(SnoopSink.WHOLE_VOLUME, gaps.get(0).lengthBytes());
        assertEquals(1, sink.of("WRITE").size());
    }

    @Test
    void writesOfAConnectionJoinedMidStreamAreGapsOnTheNamedVolumesTheyMayBelongTo() {
        // probe R D3: a host connected before the capture began, on a port the configuration names
        // (decoded under a stand-in name, its export never seen), and one whose handshake is seen.
        namedConnectionWrites(40010);
        joinedConnectionWrites(40011);
        pipeline.finish();
        List<RecordingSink.Event> diskGaps = gapsOfDisk();
        assertEquals(1, diskGaps.size(), sink.events.toString());
        assertEquals(8192, diskGaps.get(0).offsetBytes(), "the joined connection's write, as a GAP on the named export");
        assertEquals(4096, diskGaps.get(0).lengthBytes());
    }

    @Test
    void aNamedVolumeFirstSeenAfterAJoinedConnectionWroteGetsAWholeVolumeGap() {
        joinedConnectionWrites(40012);
        namedConnectionWrites(40013);
        pipeline.finish();
        List<RecordingSink.Event> diskGaps = gapsOfDisk();
        assertEquals(1, diskGaps.size(), sink.events.toString());
        assertEquals(SnoopSink.WHOLE_VOLUME, diskGaps.get(0).lengthBytes());
    }

    /** A connection to port 10809 whose handshake is seen (export "disk"), writing 512 bytes at 0. */
    private void namedConnectionWrites(int clientPort) {
        Side named = new Side(flow(clientPort, 10809), 1000);
        Side namedServer = new Side(flow(10809, clientPort), 9000);
        named.syn(false);
        namedServer.syn(true);
        namedServer.send(greeting());
        named.send(clientFlagsAndExportName());
        namedServer.send(exportReply());
        named.send(write(1, 0, new byte[512]));
        namedServer.send(reply(1));
    }

    /** A connection to port 10809 joined mid-stream (no SYN, no handshake), writing 4 KiB at 8 KiB. */
    private void joinedConnectionWrites(int clientPort) {
        Side joined = new Side(flow(clientPort, 10809), 5000);
        Side joinedServer = new Side(flow(10809, clientPort), 7000);
        joined.send(write(9, 8192, new byte[4096]));
        joinedServer.send(reply(9));
    }

    private List<RecordingSink.Event> gapsOfDisk() {
        VolumeKey disk = VolumeKey.nbd("127.0.0.1:10809", "disk");
        return sink.of("GAP").stream().filter(e -> e.volume().equals(disk)).toList();
    }

    @Test
    void aTargetsLoginResponseBeforeTheLoginIsHeldUntilTheLoginDecides() {
        Side client = new Side(flow(40005, PORT), 1000);
        Side server = new Side(flow(PORT, 40005), 9000);
        client.syn(false);
        server.syn(true);
        byte[] response = new byte[48];
        response[0] = 0x23; // Login Response, shown first by a skewed merge
        server.send(response);
        assertEquals(0, pipeline.ignoredConnections(), "held, not ignored");
        byte[] login = new byte[48];
        login[0] = 0x43; // Login Request (immediate)
        client.send(login);
        pipeline.finish();
        assertEquals(0, pipeline.ignoredConnections(), "decided as iSCSI by the login");
    }

    @Test
    void aConnectionNeitherSideOfWhichSpeaksAKnownProtocolIsIgnoredAndCounted() {
        Side client = new Side(flow(40003, 8080), 1000);
        Side server = new Side(flow(8080, 40003), 9000);
        client.syn(false);
        server.syn(true);
        client.send("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        server.send("HTTP/1.1 200 OK\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        pipeline.finish();
        assertEquals(1, pipeline.ignoredConnections());
        assertEquals(List.of(), sink.events);
    }
}
