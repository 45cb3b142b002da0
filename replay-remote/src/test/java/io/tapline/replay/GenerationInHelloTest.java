package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generation a source names in its HELLO (protocol version 4): a secondary remembers it
 * before anything is applied, and a volume primary on this node tells an older source it is
 * fenced but a newer one that this node's primary was superseded (its host must stop).
 */
class GenerationInHelloTest {
    private static final long SIZE = 1 << 20;

    @TempDir
    Path data;
    private ReplayServer server;
    private final List<JourneyTestClient> clients = new ArrayList<>();
    private final List<String> superseded = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(JourneyTestClient::close);
        if (server != null) {
            server.close();
        }
    }

    private void start() throws IOException {
        server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data), new RoleListener() {
            @Override
            public void promoted(String volumeId, Path volumeDir, VolumeRole role, long sizeBytes) {
            }

            @Override
            public String demoting(String volumeId, Path volumeDir, VolumeRole role, boolean handOver) {
                return "";
            }

            @Override
            public void superseded(String volumeId, Path volumeDir, VolumeRole role, long newer, String reason) {
                superseded.add(volumeId + " " + role.generation() + "<" + newer + ": " + reason);
            }
        });
    }

    private JourneyTestClient hello(long generation) throws InterruptedException {
        JourneyTestClient c = new JourneyTestClient(server.boundAddress());
        clients.add(c);
        c.send(new JourneyMessage.Hello(JourneyProtocol.VERSION, "node-b", "vol1", SIZE, 4096, "",
                generation));
        return c;
    }

    /** A session of {@code generation}, once the previous one (closed by the test) is gone. */
    private void welcomed(long generation) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            JourneyMessage m = hello(generation).next();
            if (m instanceof JourneyMessage.Welcome) {
                return;
            }
            String reason = ((JourneyMessage.Refused) m).reason();
            assertTrue(reason.startsWith("volume busy") && System.nanoTime() < deadline, reason);
        }
    }

    private void closeSessions() {
        clients.forEach(JourneyTestClient::close);
    }

    private String promote() throws Exception {
        JourneyMessage.AdminDone done = AdminClient.request(server.boundAddress(), new JourneyMessage.AdminRequest("",
                "alice", "vol1", JourneyMessage.AdminRequest.PROMOTE, 0, JourneyMessage.AdminRequest.FORCE, ""),
                10_000, (d, t) -> { });
        assertTrue(done.ok(), done.message());
        return done.message();
    }

    @Test
    void aSecondaryLearnsTheGenerationFromTheHelloBeforeAnyRecord() throws Exception {
        start();
        welcomed(0);
        closeSessions();
        assertEquals(1, VolumeRole.read(data.resolve("vol1")).generation());
        welcomed(3);
        assertEquals(3, VolumeRole.read(data.resolve("vol1")).generation());
        // an older generation does not lower it (a demoted generation ended: older sources are accepted)
        closeSessions();
        welcomed(2);
        assertEquals(3, VolumeRole.read(data.resolve("vol1")).generation());
        closeSessions();
        String promoted = promote();
        assertTrue(promoted.contains("generation 4"), promoted);
    }

    @Test
    void aPrimaryFencesAnOlderSourceAndIsSupersededByANewerOne() throws Exception {
        start();
        welcomed(0);
        closeSessions();
        promote();
        assertEquals(2, VolumeRole.read(data.resolve("vol1")).generation());

        String older = hello(1).next(JourneyMessage.Refused.class).reason();
        assertTrue(older.startsWith("fenced: volume vol1 is primary on this node since generation 2"), older);
        String same = hello(2).next(JourneyMessage.Refused.class).reason();
        assertTrue(same.startsWith("fenced: "), same);
        assertTrue(superseded.isEmpty(), superseded.toString());

        String newer = hello(5).next(JourneyMessage.Refused.class).reason();
        assertTrue(newer.startsWith("superseded: volume vol1 is primary on this node at generation 2, older than"
                + " generation 5 of source node-b"), newer);
        assertEquals(List.of("vol1 2<5: " + newer), superseded);
        assertEquals(2, VolumeRole.read(data.resolve("vol1")).generation()); // the role changes only by the rejoin
    }
}
