package io.tapline.snoop.capture;

import io.tapline.snoop.SnoopPipeline;
import io.tapline.snoop.tcp.TcpSegment;
import io.tapline.snoop.volume.VolumeRouter;
import java.io.IOException;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One import of a capture file: every frame of a {@link CaptureFileReader} through a
 * {@link FrameParser} (one per link type) into the {@link SnoopPipeline}, in place.
 *
 * <p>With a {@link BpfFrameFilter}, a frame the filter rejects is counted (read, then
 * {@code filteredOutPackets}) and goes no further, as with {@code tcpdump -r FILE EXPR}.
 *
 * <p>A truncated or damaged file keeps what was read: the pipeline is finished (held bytes
 * delivered, streams ended), every volume gets a whole-volume GAP, and the counters'
 * {@code fileError} says why.
 */
final class OfflineRun implements CaptureFileReader.FrameHandler {
    private static final Logger log = LoggerFactory.getLogger(OfflineRun.class);

    private final CaptureFileReader reader;
    private final CaptureCounters counters;
    private final SnoopPipeline pipeline;
    private final BpfFrameFilter filter;
    private final Map<LinkType, FrameParser> parsers = new EnumMap<>(LinkType.class);
    private long packets;
    private long bytes;
    private long truncated;
    private long unparsedLinkType;
    private long filteredOut;

    /** @param filter frames to keep, or null for all */
    OfflineRun(CaptureFileReader reader, CaptureCounters counters, SnoopPipeline pipeline, BpfFrameFilter filter) {
        this.reader = reader;
        this.counters = counters;
        this.pipeline = pipeline;
        this.filter = filter;
    }

    /**
     * Reads to the end of the file, then finishes the pipeline.
     *
     * @param progress called now and then with the bytes of the file read so far
     */
    /** The import's records are stamped with the packets' times: set per frame (null: the host's clock). */
    private PacketClock packetClock;

    void run(VolumeRouter router, LongConsumer progress) throws IOException {
        packetClock = router.captureClock() instanceof PacketClock c ? c : null;
        try {
            while (reader.next(this)) {
                if ((packets & 0x3FF) == 0) {
                    publish();
                    progress.accept(reader.bytesRead());
                }
            }
        } catch (CaptureFileReader.DamagedCaptureException e) {
            publish();
            counters.fileError = e.getMessage();
            log.warn("capture file unreadable after packet={} error={}", packets, e.getMessage());
            pipeline.finish();
            router.gapEverywhere("capture file unreadable after packet " + packets + ": " + e.getMessage());
        } finally {
            publish();
            progress.accept(reader.bytesRead());
            pipeline.finish();
        }
        if (unparsedLinkType > 0) {
            log.warn("frames on interfaces of an unparsed link type ignored count={}", unparsedLinkType);
        }
    }

    private void publish() {
        counters.packets = packets;
        counters.bytes = bytes;
        counters.truncatedPackets = truncated;
        counters.filteredOutPackets = filteredOut;
    }

    @Override
    public void frame(LinkType linkType, byte[] buf, int offset, int length, int originalLength, long timeNanos) {
        if (packetClock != null) {
            packetClock.advance(timeNanos);
        }
        packets++;
        bytes += length;
        if (originalLength > length) {
            truncated++;
        }
        if (linkType == null) {
            unparsedLinkType++;
            return;
        }
        if (filter != null && !filter.accepts(linkType, buf, offset, length, originalLength)) {
            filteredOut++;
            return;
        }
        FrameParser parser = parsers.computeIfAbsent(linkType, FrameParser::new);
        TcpSegment s = parser.parse(buf, offset, length, originalLength, timeNanos);
        if (s != null) {
            pipeline.segment(s);
        }
    }
}
