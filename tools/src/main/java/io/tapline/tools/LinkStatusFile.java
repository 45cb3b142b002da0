package io.tapline.tools;

import com.fasterxml.jackson.core.type.TypeReference;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code link-status.json} in a buffer's volume directory: what the running source process knows
 * of each journey link (connected, shipped, acked), rewritten about once a second so that
 * {@code tapline status} in another process can show it. Advisory only: the acknowledged
 * sequences that matter for durability live in the buffer's cursor files.
 */
public final class LinkStatusFile {
    /** File name inside the volume directory. */
    public static final String NAME = "link-status.json";
    /** A file older than this is stale: its process is gone or stuck. */
    public static final long FRESH_MILLIS = 5_000;

    private LinkStatusFile() {
    }

    /**
     * One link as the source process last saw it, with the replica's state as its replayer last
     * reported it ({@code replicaState} null when it never reported: unknown), and how long the
     * oldest batch the replayer received had then waited unapplied ({@code replicaUnappliedForMillis},
     * 0 from a replayer that does not say).
     */
    public record Link(String remote, String address, boolean connected, long shippedSequence, long ackedSequence,
            long reconnects, String lastError, long updatedAtMillis, String replicaState, long replicaApplied,
            long replicaConsistentSequence, String replicaReason, long replicaUnappliedForMillis) {
        /** The link of a shipper's status snapshot taken at {@code nowMillis}. */
        public static Link of(ShipperStatus st, long nowMillis) {
            var r = st.replica();
            return new Link(st.remoteId(), st.address(), st.connected(), st.lastSentSequence(), st.lastAckedSequence(),
                    st.reconnects(), st.lastError(), nowMillis, r == null ? null : r.state(),
                    r == null ? 0 : r.lastApplied(), r == null ? 0 : r.consistentSequence(),
                    r == null ? null : r.reason(), r == null ? 0 : r.unappliedForMillis());
        }

        /** The same link, marked disconnected (its process stopped). */
        public Link stopped(long nowMillis) {
            return new Link(remote, address, false, shippedSequence, ackedSequence, reconnects, "source stopped",
                    nowMillis, replicaState, replicaApplied, replicaConsistentSequence, replicaReason, 0);
        }
    }

    /** Replaces the file (temp file + rename; not fsynced: the content is advisory). */
    public static void write(Path volumeDir, List<Link> links) throws IOException {
        AdvisoryFiles.writeJson(volumeDir, NAME, links);
    }

    /** Reads the links, or an empty list when there is no file. */
    public static List<Link> read(Path volumeDir) throws IOException {
        try {
            return Json.mapper().readValue(volumeDir.resolve(NAME).toFile(), new TypeReference<List<Link>>() { });
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return List.of();
        }
    }
}
