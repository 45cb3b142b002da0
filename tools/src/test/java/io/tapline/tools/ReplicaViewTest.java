package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicaViewTest {
    @TempDir
    Path dir;

    @Test
    void aBehindReplicaNamesABatchItsReplayerHoldsUnapplied() {
        ReplicaView held = ReplicaView.of(link(true, 7_400), null, 10, 12, true);
        assertEquals("behind", held.state());
        assertEquals("2 records to apply or to hear about; the replayer has held a received batch unapplied for 7 s:"
                + " its disk is slow or not answering", held.reason());

        ReplicaView crossing = ReplicaView.of(link(true, ReplicaView.HELD_SHOWN_MILLIS - 1), null, 10, 12, true);
        assertEquals("2 records to apply or to hear about", crossing.reason(), "a short wait is a batch on its way");
    }

    @Test
    void aResyncingReplicaNamesTheHeldBatchAfterItsOwnReason() {
        LinkStatusFile.Link resyncing = new LinkStatusFile.Link("r1", "127.0.0.1:1", true, 12, 10, 0, "",
                System.currentTimeMillis(), "resyncing", 10, 4, "resync 2a", 9_000);
        assertEquals("resync 2a; the replayer has held a received batch unapplied for 9 s: its disk is slow or not"
                + " answering", ReplicaView.of(resyncing, null, 10, 12, true).reason());
    }

    @Test
    void aReplicaRefusedAfterARollbackShowsWhereTheRollbackLeftItNotItsLastReport() {
        LinkStatusFile.Link before = new LinkStatusFile.Link("r1", "127.0.0.1:1", false, 455, 455, 1, "",
                System.currentTimeMillis(), "consistent", 455, 455, "", 0);
        ReplicaView refused = ReplicaView.of(before, "refused by replayer: volume vol1 rolled back to seq 453; resume"
                + " with `tapline resume`", 455, 455, true);
        assertEquals("refused", refused.state());
        assertEquals(453, refused.applied());
    }

    @Test
    void aHeldBatchNeverMakesAReplicaConsistentOrHidesALinkDown() {
        LinkStatusFile.Link applied = new LinkStatusFile.Link("r1", "127.0.0.1:1", true, 12, 12, 0, "",
                System.currentTimeMillis(), "consistent", 12, 12, "", 60_000);
        ReplicaView synced = ReplicaView.of(applied, null, 12, 12, true);
        assertEquals("consistent", synced.state(), "every record acknowledged: nothing is held that status counts");
        ReplicaView down = ReplicaView.of(link(false, 60_000), "connection refused", 10, 12, true);
        assertEquals("unreachable", down.state());
        assertFalse(down.reason().contains("held"), down.reason());
    }

    @Test
    void aLinkFileWrittenBeforeTheFieldExistedReadsAsNothingHeld() throws Exception {
        Files.writeString(dir.resolve(LinkStatusFile.NAME), "[{\"remote\":\"r1\",\"address\":\"127.0.0.1:1\","
                + "\"connected\":true,\"shippedSequence\":10,\"ackedSequence\":10,\"reconnects\":0,\"lastError\":\"\","
                + "\"updatedAtMillis\":1,\"replicaState\":\"consistent\",\"replicaApplied\":10,"
                + "\"replicaConsistentSequence\":10,\"replicaReason\":\"\"}]");
        List<LinkStatusFile.Link> links = LinkStatusFile.read(dir);
        assertEquals(0, links.get(0).replicaUnappliedForMillis());
        LinkStatusFile.write(dir, List.of(link(true, 1234)));
        assertEquals(1234, LinkStatusFile.read(dir).get(0).replicaUnappliedForMillis());
        assertTrue(Files.readString(dir.resolve(LinkStatusFile.NAME)).contains("replicaUnappliedForMillis"));
    }

    private static LinkStatusFile.Link link(boolean connected, long unappliedForMillis) {
        return new LinkStatusFile.Link("r1", "127.0.0.1:1", connected, 12, 10, 0, "", System.currentTimeMillis(),
                "consistent", 10, 10, "", unappliedForMillis);
    }
}
