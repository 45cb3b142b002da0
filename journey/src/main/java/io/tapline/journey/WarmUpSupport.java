package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.tapline.journey.control.ChunkHashReply;
import io.tapline.journey.control.ChunkHashRequest;
import io.tapline.journey.control.ControlCodec;
import io.tapline.journey.control.ControlMessage;
import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.journey.control.SourceDiverged;
import io.tapline.journey.control.SourceGeneration;
import io.tapline.journey.control.SourceHead;
import io.tapline.journey.control.VerifyReport;
import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a process's warm-up at start shares (see {@code docs/benchmarks.md#warm-up}): the journey
 * link's codecs run once on messages made up for it, so that a process's first real frames do not
 * pay the first-time costs (class loading, Kryo's serializers, interpreted code); and the
 * once-per-process run of a warm-up in a scratch folder of its own, deleted before and after. The
 * codecs' part touches no file, socket or shared state other than the codecs' own pools.
 */
public final class WarmUpSupport {
    private static final Logger log = LoggerFactory.getLogger(WarmUpSupport.class);

    private WarmUpSupport() {
    }

    /**
     * Encodes {@code messages} into frames and decodes them back, as a sender's and a receiver's
     * pipelines do, and returns what the receiver decoded.
     */
    public static List<JourneyMessage> throughFrames(List<? extends JourneyMessage> messages, int maxFrameBytes) {
        return decode(encode(messages, maxFrameBytes), maxFrameBytes);
    }

    /** Encodes {@code messages} into whole frames (length field included), as a sender's pipeline does. */
    public static List<ByteBuf> encode(List<? extends JourneyMessage> messages, int maxFrameBytes) {
        EmbeddedChannel sender = new EmbeddedChannel(new JourneyEncoder(maxFrameBytes));
        List<ByteBuf> frames = new ArrayList<>();
        try {
            for (JourneyMessage m : messages) {
                sender.writeOutbound(m);
                for (ByteBuf frame = sender.readOutbound(); frame != null; frame = sender.readOutbound()) {
                    frames.add(frame);
                }
            }
        } finally {
            sender.finishAndReleaseAll();
        }
        return frames;
    }

    /**
     * Decodes {@code frames} (whole frames, length field included; each released here) as an
     * admitted receiver's pipeline does, so that batch bodies get their room at once.
     */
    public static List<JourneyMessage> decode(List<ByteBuf> frames, int maxFrameBytes) {
        JourneyDecoder decoder = new JourneyDecoder(maxFrameBytes);
        decoder.setAsideRoomForBatches();
        EmbeddedChannel receiver = new EmbeddedChannel(decoder);
        List<JourneyMessage> out = new ArrayList<>(frames.size());
        int fed = 0;
        try {
            for (ByteBuf frame : frames) {
                fed++;
                receiver.writeInbound(frame);
                for (Object in = receiver.readInbound(); in != null; in = receiver.readInbound()) {
                    out.add((JourneyMessage) in);
                }
            }
        } finally {
            for (int i = fed; i < frames.size(); i++) {
                frames.get(i).release();
            }
            receiver.finishAndReleaseAll();
        }
        return out;
    }

    /** Every control message type encoded into its CONTROL frame and decoded back. */
    public static void controlMessages() {
        long[] values = {1, 2, 3};
        List<ControlMessage> all = List.of(
                new SourceHead(1, 1),
                new SourceGeneration(1),
                new SourceDiverged(1, "warm-up"),
                new ReplicaStateReport(ReplicaStateReport.CONSISTENT, 1, 1, 0, "warm-up"),
                new ChunkHashRequest(1, 1, 1 << 20, 0, 3, 0),
                new ChunkHashReply(1, 1, values, values, null),
                new VerifyReport("warm-up", 1, 3L << 20, values, values, 0, 1, 0));
        List<JourneyMessage.Control> frames = new ArrayList<>();
        for (ControlMessage m : all) {
            frames.add(ControlCodec.encode(m));
        }
        for (JourneyMessage m : throughFrames(frames, JourneyProtocol.DEFAULT_MAX_FRAME_BYTES)) {
            ControlCodec.decode((JourneyMessage.Control) m);
        }
    }

    /** A warm-up's work in its scratch folder; returns what it did, in a few words, for the log. */
    @FunctionalInterface
    public interface ScratchWork {
        String run(Path scratch) throws Exception;
    }

    /**
     * Runs {@code work} in {@code scratch} (deleted before and after) unless the system property
     * {@code property} says {@code off} or {@code done} is already set (once per process); logs
     * what it did, or why it could not. A scratch a kill left is deleted in every case. Never
     * throws: a process whose warm-up failed starts cold.
     *
     * @return whether the work ran to its end
     */
    public static boolean onceInScratch(String property, AtomicBoolean done, Path scratch, ScratchWork work) {
        if ("off".equals(System.getProperty(property, "on")) || !done.compareAndSet(false, true)) {
            deleteScratch(scratch);
            return false;
        }
        return inScratch(property, scratch, work);
    }

    /** {@link #onceInScratch} without its once-per-process and property checks (tests). */
    public static boolean inScratch(String property, Path scratch, ScratchWork work) {
        try {
            DurableFiles.deleteTree(scratch);
            log.info("warm-up: {} (-D{}=off skips it)", work.run(scratch), property);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.warn("warm-up interrupted, the process starts cold");
            return false;
        } catch (Exception e) {
            log.warn("warm-up skipped, the process starts cold: {}", e.toString());
            return false;
        } finally {
            deleteScratch(scratch);
        }
    }

    /** Deletes a warm-up's scratch (its own, or one a kill cut short); a warning if it cannot. */
    private static void deleteScratch(Path scratch) {
        try {
            DurableFiles.deleteTree(scratch);
        } catch (IOException e) {
            log.warn("warm-up: scratch {} not deleted (the next start deletes it): {}", scratch, e.toString());
        }
    }
}
