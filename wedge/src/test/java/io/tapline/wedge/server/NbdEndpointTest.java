package io.tapline.wedge.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.wedge.capture.FakeCaptureSink;
import io.tapline.nbd.NbdError;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Export naming, standby exports and replacement on a live endpoint, with raw sockets. */
class NbdEndpointTest {
    private static final long SIZE = 1 << 20;
    private static final int ERR_UNKNOWN = 0x80000006;
    private static final int REP_ACK = 1;
    private static final int REP_SERVER = 2;

    @TempDir
    Path dir;
    NbdEndpoint endpoint;

    @BeforeEach
    void start() throws IOException {
        endpoint = NbdEndpoint.start(new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private WedgeServer wedge(String name) throws IOException {
        return WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), name,
                dir.resolve(name + ".img"), SIZE, new FakeCaptureSink()), endpoint);
    }

    private RawNbdClient client() throws IOException {
        return new RawNbdClient(endpoint.boundAddress());
    }

    private List<String> list(RawNbdClient c) throws IOException {
        c.option(3, new byte[0]);
        List<String> names = new ArrayList<>();
        RawNbdClient.OptionReply r;
        while ((r = c.readOptionReply()).type() == REP_SERVER) {
            names.add(new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8));
        }
        assertEquals(REP_ACK, r.type());
        return names;
    }

    @Test
    void unknownNameGetsErrUnknownAtGoAndAClosedConnectionAtExportName() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "test");
        try (RawNbdClient c = client()) {
            assertEquals(ERR_UNKNOWN, c.go("vol2").type());
            assertEquals(REP_ACK, c.go("vol1").type(), "the connection negotiates on after ERR_UNKNOWN");
        }
        try (RawNbdClient c = client()) {
            c.option(1, "vol2".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void emptyNameIsTheDefaultExportOnlyWhileExactlyOneIsRegistered() throws IOException {
        try (RawNbdClient c = client()) {
            assertEquals(ERR_UNKNOWN, c.go("").type(), "no export at all");
        }
        endpoint.serveStandby("vol1", SIZE, "test");
        try (RawNbdClient c = client()) {
            assertEquals(REP_ACK, c.go("").type());
        }
        endpoint.serveStandby("vol2", SIZE, "test");
        try (RawNbdClient c = client()) {
            assertEquals(ERR_UNKNOWN, c.go("").type(), "two exports: no default");
            c.option(1, new byte[0]);
            assertTrue(c.closedByServer(), "EXPORT_NAME \"\" with two exports");
        }
        endpoint.remove("vol1");
        try (RawNbdClient c = client()) {
            assertEquals(REP_ACK, c.go("").type());
        }
    }

    @Test
    void listNamesEveryExport() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "test");
        try (WedgeServer ignored = wedge("vol2"); RawNbdClient c = client()) {
            assertEquals(List.of("vol1", "vol2"), list(c));
        }
    }

    @Test
    void standbyExportRefusesEveryDataCommandWithEpermAndDiscStillCloses() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "replica of site-a");
        try (RawNbdClient c = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            int[] dataCommands = {0, 1, 3, 4, 5, 6}; // READ WRITE FLUSH TRIM CACHE WRITE_ZEROES
            for (int type : dataCommands) {
                long length = type == 3 ? 0 : 512;
                c.request(0, type, type, 0, length, type == 1 ? new byte[512] : null);
                assertEquals(new RawNbdClient.Reply(NbdError.EPERM.wireValue(), type), c.readReply(0, null),
                        "command type " + type);
            }
            c.request(0, 0, 9, SIZE, 1, null);
            assertEquals(new RawNbdClient.Reply(NbdError.EINVAL.wireValue(), 9), c.readReply(0, null),
                    "an invalid request still gets its validation error");
            c.request(0, 2, 10, 0, 0, null);
            assertTrue(c.closedByServer(), "DISC");
        }
    }

    /**
     * libnbd's disconnect: requests, NBD_CMD_DISC, then the socket shut for writing. Every request
     * accepted is answered before the connection closes (proto.md: the server MUST handle all
     * outstanding requests); the wedge closed at the client's FIN and left most unanswered,
     * though written (probe AB D1: 180 of 200).
     */
    @Test
    void aClientThatSendsDiscAndShutsItsSideGetsEveryReplyBeforeTheClose() throws IOException {
        int writes = 200;
        try (WedgeServer ignored = wedge("vol1");
                RawNbdClient c = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            byte[] block = new byte[4096];
            for (int i = 0; i < writes; i++) {
                java.util.Arrays.fill(block, (byte) i);
                c.request(0, 1, i, (long) i * 4096 % SIZE, block.length, block);
            }
            c.request(0, 2, writes, 0, 0, null); // DISC
            c.socket.shutdownOutput();
            java.util.Set<Long> answered = new java.util.HashSet<>();
            for (int i = 0; i < writes; i++) {
                RawNbdClient.Reply r = c.readReply(0, null);
                assertEquals(0, r.error(), "reply " + i);
                answered.add(r.cookie());
            }
            assertEquals(writes, answered.size());
            assertTrue(c.closedByServer(), "closed once every request was answered");
        }
    }

    @Test
    void aClientThatShutsItsSideWhileNegotiatingIsClosed() throws IOException {
        try (RawNbdClient c = client()) {
            c.socket.shutdownOutput();
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void replacingAStandbyExportClosesItsConnections() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "first");
        try (RawNbdClient old = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            endpoint.serveStandby("vol1", 2 * SIZE, "second");
            assertTrue(old.closedByServer());
        }
        try (RawNbdClient c = client()) {
            c.option(1, "vol1".getBytes(StandardCharsets.UTF_8));
            assertEquals(2 * SIZE, c.in.readLong(), "the new size");
        }
    }

    @Test
    void removeClosesConnectionsAndForgetsTheName() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "test");
        try (RawNbdClient old = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            endpoint.remove("vol1");
            assertTrue(old.closedByServer());
        }
        try (RawNbdClient c = client()) {
            assertEquals(ERR_UNKNOWN, c.go("vol1").type());
        }
        endpoint.remove("vol1"); // no such export: nothing happens
    }

    @Test
    void wedgeReplacesAStandbyExportAndLeavesTheEndpointOpenWhenClosed() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "test");
        endpoint.serveStandby("other", SIZE, "test");
        try (RawNbdClient standbyClient = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            WedgeServer wedge = wedge("vol1");
            assertTrue(standbyClient.closedByServer(), "promotion closes the standby's connections");
            assertEquals(endpoint.boundAddress(), wedge.boundAddress());
            try (RawNbdClient c = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
                assertEquals(new RawNbdClient.Reply(0, 1), c.write(1, 0, new byte[] {7}));
                assertArrayEquals(new byte[] {7}, c.read(2, 0, 1));
                wedge.close();
                assertTrue(c.closedByServer(), "closing the wedge closes its connections");
            }
        }
        try (RawNbdClient c = client()) {
            assertEquals(ERR_UNKNOWN, c.go("vol1").type());
            assertEquals(REP_ACK, c.go("other").type(), "the endpoint serves on");
        }
        wedge("vol1").close(); // the volume lock was released
    }

    @Test
    void aWedgeServingDataCannotBeReplacedOrRemovedUntilItIsStandby() throws IOException {
        try (WedgeServer wedge = wedge("vol1")) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> endpoint.serveStandby("vol1", SIZE, "test"));
            assertEquals("serveStandby: export vol1 is served by a wedge (expected: a standby export or none)",
                    e.getMessage());
            assertThrows(IllegalStateException.class, () -> endpoint.remove("vol1"));
            wedge.standby("demoted");
            endpoint.serveStandby("vol1", SIZE, "demoted");
        }
        try (RawNbdClient c = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            c.request(0, 0, 1, 0, 1, null);
            assertEquals(new RawNbdClient.Reply(NbdError.EPERM.wireValue(), 1), c.readReply(0, null),
                    "closing the fenced wedge left the standby export that replaced it");
        }
    }

    @Test
    void secondWedgeWithTheSameNameIsRefusedAndLeavesNoVolume() throws IOException {
        try (WedgeServer first = wedge("vol1")) {
            Path other = dir.resolve("other.img");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> WedgeServer.start(
                    WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1", other, SIZE,
                            new FakeCaptureSink()), endpoint));
            assertEquals("export: vol1 (expected: not served by another wedge on " + endpoint.boundAddress() + ")",
                    e.getMessage());
            assertFalse(Files.exists(other));
        }
    }

    @Test
    void closeClosesEveryConnectionAndIsIdempotent() throws IOException {
        endpoint.serveStandby("vol1", SIZE, "test");
        try (RawNbdClient c = RawNbdClient.connected(endpoint.boundAddress(), "vol1");
                RawNbdClient negotiating = client()) {
            endpoint.close();
            assertTrue(c.closedByServer());
            assertTrue(negotiating.closedByServer());
        }
        endpoint.close();
        assertThrows(IllegalStateException.class, () -> endpoint.serveStandby("vol1", SIZE, "test"));
    }

    @Test
    void wedgeClosedAfterItsEndpointClosesWithoutWaitingAndReleasesItsVolume() throws IOException {
        WedgeServer wedge = wedge("vol1");
        try (RawNbdClient c = RawNbdClient.connected(endpoint.boundAddress(), "vol1")) {
            endpoint.close();
            assertTrue(c.closedByServer());
        }
        assertTimeoutPreemptively(Duration.ofSeconds(10), wedge::close, "cut-off connections have nothing in flight");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> wedge("vol2"));
        assertEquals("NBD endpoint on " + endpoint.boundAddress() + " is closed", e.getMessage());
        assertFalse(Files.exists(dir.resolve("vol2.img")), "a refused start leaves no new volume");
        WedgeServer.start(WedgeConfig.of(new InetSocketAddress("127.0.0.1", 0), "vol1", dir.resolve("vol1.img"),
                SIZE, new FakeCaptureSink())).close(); // the volume lock was released
    }

    @Test
    void failedBindNamesTheAddress() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InetSocketAddress busy = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            IOException e = assertThrows(IOException.class, () -> NbdEndpoint.start(busy));
            assertTrue(e.getMessage().startsWith("cannot listen on " + busy + ": "), e.getMessage());
        }
    }
}
