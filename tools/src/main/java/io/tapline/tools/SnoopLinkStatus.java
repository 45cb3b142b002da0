package io.tapline.tools;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.snoop.volume.VolumeRouter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes each snoop volume's {@code link-status.json} ({@link LinkStatusFile}) from the router's
 * shippers: while running, emptied when a live snoop stops, or each link marked stopped when an
 * import ends (so {@code tapline status} still shows what each replica last reported).
 * Advisory: a failed write is logged at DEBUG and retried by the next call.
 */
final class SnoopLinkStatus {
    private static final Logger LOG = LoggerFactory.getLogger(SnoopLinkStatus.class);

    /** What the file says of the links. */
    enum Mode { RUNNING, EMPTIED, STOPPED }

    private SnoopLinkStatus() {
    }

    static void write(VolumeRouter router, Mode mode) {
        long now = System.currentTimeMillis();
        for (Map.Entry<Path, List<ShipperStatus>> e : router.linkStatuses().entrySet()) {
            List<LinkStatusFile.Link> links = new ArrayList<>();
            if (mode != Mode.EMPTIED) {
                for (ShipperStatus st : e.getValue()) {
                    LinkStatusFile.Link link = LinkStatusFile.Link.of(st, now);
                    links.add(mode == Mode.STOPPED ? link.stopped(now) : link);
                }
            }
            try {
                LinkStatusFile.write(e.getKey(), links);
            } catch (IOException ex) {
                LOG.debug("link status not written dir={} error={}", e.getKey(), ex.toString());
            }
        }
    }
}
