package io.tapline.snoop.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import io.tapline.nbd.NbdOption;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.snoop.tcp.StreamConsumer;
import io.tapline.snoop.volume.ConcurrentOverlaps;
import io.tapline.snoop.volume.SnoopSink;
import io.tapline.snoop.volume.VolumeKey;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one NBD connection (NBD proto.md): the export and its size from the handshake, the
 * negotiated structured replies and extended headers, and each request until its reply. A
 * request is committed to the sink when its reply says error 0 (the simple reply, or the
 * structured chunk flagged NBD_REPLY_FLAG_DONE with no error chunk before it): WRITE, TRIM
 * (DISCARD), WRITE_ZEROES and FLUSH, with FUA and NO_HOLE kept.
 *
 * <p>Ordering contract: records reach the sink in the order the server's replies do, e.g. WRITE
 * cookie 1 then WRITE cookie 2 answered 2 then 1: the sink gets 2 then 1. Where two such requests
 * overlap while both are in flight, the server may have applied them in either order (proto.md:
 * requests may be processed in any order): a GAP over the overlap follows the later reply's record
 * ({@link ConcurrentOverlaps}), so the range is compared by a resync instead of guessed.
 *
 * <p>Loss (a gap in either direction, a bad magic, a capture that joined mid-connection) makes
 * a whole-volume GAP; a write whose payload was cut makes a GAP over its range when answered.
 * A write the server answered with an error, or never answered before the connection ended,
 * makes a GAP over its range: the server may have applied it.
 * Not thread-safe: capture thread only.
 */
public final class NbdConnection {
    private static final Logger log = LoggerFactory.getLogger(NbdConnection.class);
    private static final int NBD_BLOCK_SIZE_BYTES = 4096;
    /** Replies kept while their requests have not shown; past it the capture has lost its framing. */
    static final int MAX_EARLY_REPLIES = 4096;

    /** A request in flight, its {@link ConcurrentOverlaps} ticket (-1: none), and whether its end was reported. */
    private static final class InFlight {
        final NbdRequest request;
        long ticket;
        boolean reportedUnanswered;

        InFlight(NbdRequest request, long ticket) {
            this.request = request;
            this.ticket = ticket;
        }
    }

    private final String clientAddress;
    private final String serverAddress;
    private final SnoopSink sink;
    private final NbdRequestDecoder requests;
    private final NbdReplyDecoder replies;
    /**
     * Requests sent and not yet answered, by cookie, oldest first: a client may reuse a cookie once
     * it has the reply (qemu uses one for every request), and a capture may show its next request
     * before that reply (taps of the two directions merged), so a cookie can name several.
     */
    private final Map<Long, java.util.ArrayDeque<InFlight>> outstanding = new HashMap<>();
    private final Map<Long, Boolean> chunkErrors = new HashMap<>();
    /**
     * Replies seen before their request (the server's direction ahead of the client's in the
     * capture, or a write's payload still arriving): their outcome, by cookie, oldest first, applied
     * when the request shows. Bounded by {@link #MAX_EARLY_REPLIES}.
     */
    private final Map<Long, java.util.ArrayDeque<Boolean>> earlyReplies = new HashMap<>();
    private int earlyReplyCount;
    private boolean clientEnded;
    private final ConcurrentOverlaps overlaps;
    /** Names a request in a GAP's reason, with this connection. */
    private final java.util.function.LongFunction<String> cookieName;
    private String export = "";
    private long sizeBytes = -1;
    private boolean exportNameSent;
    private boolean noZeroes;
    private boolean structured;
    private boolean inTransmission;
    private boolean lossSeen;
    private VolumeKey volume;

    /** A connection of its own (tests): its overlaps compared with no other connection's. */
    public NbdConnection(String clientAddress, String serverAddress, SnoopSink sink) {
        this(clientAddress, serverAddress, sink, new ConcurrentOverlaps(sink::gap, cookie -> "cookie=" + cookie));
    }

    /** @param overlaps the capture's, shared by every connection: a volume's writes on two connections are compared */
    public NbdConnection(String clientAddress, String serverAddress, SnoopSink sink, ConcurrentOverlaps overlaps) {
        this.clientAddress = clientAddress;
        this.serverAddress = serverAddress;
        this.sink = sink;
        this.overlaps = overlaps;
        this.cookieName = cookie -> "cookie=" + cookie + " conn=" + clientAddress;
        this.requests = new NbdRequestDecoder(this);
        this.replies = new NbdReplyDecoder(this);
    }

    public StreamConsumer clientStream() {
        return requests;
    }

    public StreamConsumer serverStream() {
        return replies;
    }

    /** The capture joined after the handshake: scan both directions for messages; the past is a GAP. */
    public void startMidStream() {
        requests.startMidStream();
        replies.startMidStream();
        lost("capture started mid-connection");
    }

    void clientFlags(int flags) {
        noZeroes = (flags & NbdFlags.FLAG_C_NO_ZEROES) != 0;
    }

    void exportName(String name, boolean viaExportNameOption) {
        export = name;
        exportNameSent |= viaExportNameOption;
    }

    void optionSent(int option) {
        log.trace("nbd option sent conn={} option={}", clientAddress, option);
    }

    void optionAcknowledged(int option) {
        if (option == NbdOption.STRUCTURED_REPLY.wireValue() || option == NbdOption.EXTENDED_HEADERS.wireValue()) {
            structured = true;
        }
    }

    boolean exportNameSent() {
        return exportNameSent;
    }

    boolean noZeroes() {
        return noZeroes;
    }

    boolean structuredReplies() {
        return structured;
    }

    void exportSize(long bytes) {
        sizeBytes = bytes;
    }

    void transmission() {
        inTransmission = true;
        volume();
    }

    boolean outstanding(long cookie) {
        return outstanding.containsKey(cookie);
    }

    private VolumeKey volume() {
        if (volume == null) {
            volume = VolumeKey.nbd(serverAddress, export);
            sink.geometry(volume, sizeBytes, NBD_BLOCK_SIZE_BYTES);
            if (lossSeen) {
                sink.gap(volume, 0, SnoopSink.WHOLE_VOLUME, "NBD capture joined or lost framing before the export was known");
            }
        }
        return volume;
    }

    void request(NbdRequest r) {
        VolumeKey v = volume();
        if (r.command() == NbdCommand.READ) {
            sink.readSeen(v);
        }
        if (r.command() == NbdCommand.DISC) {
            return; // NBD_CMD_DISC has no reply
        }
        java.util.ArrayDeque<InFlight> sameCookie = outstanding.get(r.cookie());
        if (sameCookie != null) {
            // The cookie is reused: the client had the earlier requests' replies before it sent this
            // one (proto.md: a cookie names one request in flight), so they ended before it began.
            for (InFlight earlier : sameCookie) {
                endedInFlight(v, earlier);
            }
        }
        InFlight f = new InFlight(r, changesData(r.command()) ? overlaps.sent() : -1);
        java.util.ArrayDeque<Boolean> early = earlyReplies.get(r.cookie());
        if (early != null) {
            boolean ok = early.poll();
            earlyReplyCount--;
            if (early.isEmpty()) {
                earlyReplies.remove(r.cookie());
            }
            complete(v, f, ok); // its reply came first in the capture
            return;
        }
        outstanding.computeIfAbsent(r.cookie(), c -> new java.util.ArrayDeque<>(1)).add(f);
    }

    /** The oldest request in flight under {@code cookie}, removed; null when none. */
    private InFlight answered(long cookie) {
        java.util.ArrayDeque<InFlight> q = outstanding.get(cookie);
        if (q == null) {
            return null;
        }
        InFlight f = q.poll();
        if (q.isEmpty()) {
            outstanding.remove(cookie);
        }
        return f;
    }

    /** A reply whose request has not shown (yet): kept for it, or the framing is lost past the bound. */
    private void early(long cookie, boolean ok) {
        if (!inTransmission) {
            return;
        }
        if (earlyReplyCount >= MAX_EARLY_REPLIES) {
            lost("more than " + MAX_EARLY_REPLIES + " replies to requests never captured (last cookie=" + cookie + ")");
            return;
        }
        earlyReplies.computeIfAbsent(cookie, c -> new java.util.ArrayDeque<>(1)).add(ok);
        earlyReplyCount++;
    }

    private static boolean changesData(NbdCommand command) {
        return command == NbdCommand.WRITE || command == NbdCommand.TRIM || command == NbdCommand.WRITE_ZEROES;
    }

    /**
     * The request's outcome is known: where it overlaps one that was in flight with it, the server
     * may have applied them in either order (proto.md lets it), so that range gets a GAP.
     */
    private void endedInFlight(VolumeKey v, InFlight f) {
        if (f.ticket >= 0) {
            NbdRequest r = f.request;
            overlaps.ended(f.ticket, v, new long[] {r.offsetBytes(), r.lengthBytes()}, r.cookie(), cookieName);
            f.ticket = -1;
        }
    }

    /** A simple reply; returns its request (or null when it has not shown yet). */
    NbdRequest simpleReply(long cookie, long error) {
        InFlight f = answered(cookie);
        if (f == null) {
            early(cookie, error == 0);
            return null;
        }
        complete(volume(), f, error == 0);
        return f.request;
    }

    void chunk(long cookie, int type, boolean done) {
        if ((type & NbdFlags.REPLY_TYPE_ERROR_BIT) != 0) {
            chunkErrors.put(cookie, Boolean.TRUE);
        }
        if (done) {
            boolean error = chunkErrors.remove(cookie) != null;
            InFlight f = answered(cookie);
            if (f == null) {
                early(cookie, !error);
            } else {
                complete(volume(), f, !error);
            }
        }
    }

    private void complete(VolumeKey v, InFlight f, boolean ok) {
        try {
            completeInOrder(v, f.request, ok);
        } finally {
            endedInFlight(v, f);
        }
    }

    private void completeInOrder(VolumeKey v, NbdRequest r, boolean ok) {
        if (!ok) {
            unconfirmed(v, r, "error reply");
            return;
        }
        Provenance p = new Provenance(Bus.NBD, clientAddress, serverAddress + "/" + export, r.cookie(), 0, r.type());
        int fua = (r.flags() & NbdFlags.CMD_FLAG_FUA) != 0 ? CaptureRecord.FLAG_FUA : 0;
        NbdCommand command = r.command();
        if (command == null) {
            return; // a type NBD does not name: nothing to capture
        }
        switch (command) {
            case WRITE -> {
                if (r.payload() == null && r.lengthBytes() > 0) {
                    sink.gap(v, r.offsetBytes(), r.lengthBytes(), "NBD write payload not fully captured cookie="
                            + r.cookie());
                } else {
                    sink.completed(v, RecordKind.WRITE, r.offsetBytes(), r.lengthBytes(), fua, p,
                            r.payload() == null ? new byte[0] : r.payload());
                }
            }
            case TRIM -> sink.completed(v, RecordKind.DISCARD, r.offsetBytes(), r.lengthBytes(), fua, p,
                    null);
            case WRITE_ZEROES -> sink.completed(v, RecordKind.WRITE_ZEROES, r.offsetBytes(),
                    r.lengthBytes(), fua | ((r.flags() & NbdFlags.CMD_FLAG_NO_HOLE) != 0 ? CaptureRecord.FLAG_NO_HOLE : 0),
                    p, null);
            case FLUSH -> sink.completed(v, RecordKind.FLUSH, 0, 0, 0, p, null);
            default -> {
                // READ, CACHE, BLOCK_STATUS, RESIZE: nothing to capture
            }
        }
    }

    void lost(String reason) {
        lossSeen = true;
        if (volume != null) {
            sink.gap(volume, 0, SnoopSink.WHOLE_VOLUME, "NBD " + reason + " conn=" + clientAddress);
        }
    }

    /**
     * A WRITE, TRIM or WRITE_ZEROES the server did not confirm may still have changed its range
     * (NBD proto.md: after an error the range's content is unspecified): a GAP, never the data.
     */
    private void unconfirmed(VolumeKey v, NbdRequest r, String why) {
        NbdCommand command = r.command();
        boolean changesData = command == NbdCommand.WRITE || command == NbdCommand.TRIM
                || command == NbdCommand.WRITE_ZEROES;
        if (!changesData) {
            if (command == NbdCommand.FLUSH) {
                log.info("nbd flush not confirmed, nothing to mark conn={} cookie={} why={}", clientAddress, r.cookie(),
                        why);
            }
            return;
        }
        log.info("nbd write not confirmed, GAP recorded conn={} cookie={} type={} offset={} length={} why={}",
                clientAddress, r.cookie(), r.type(), r.offsetBytes(), r.lengthBytes(), why);
        sink.gap(v, r.offsetBytes(), r.lengthBytes(), "NBD write not confirmed (" + why + "), the server may have"
                + " applied it: cookie=" + r.cookie() + " type=" + r.type() + " conn=" + clientAddress);
    }

    /**
     * Either direction ended: after the client's end the server may still answer (a half-close),
     * after the server's no reply can come. Each pending write becomes a GAP once, at the first
     * end; the requests stay known so that late replies (a READ's payload) keep their framing.
     */
    void ended() {
        if (!inTransmission) {
            return;
        }
        VolumeKey v = volume();
        for (java.util.ArrayDeque<InFlight> q : outstanding.values()) {
            for (InFlight f : q) {
                if (!f.reportedUnanswered) {
                    f.reportedUnanswered = true;
                    unconfirmed(v, f.request, "no reply before the connection ended");
                    endedInFlight(v, f);
                }
            }
        }
        if (clientEnded && earlyReplyCount > 0) {
            // Answers to requests the capture never showed: what they did is unknown.
            lost(earlyReplyCount + " replies to requests never captured (cookies " + earlyReplies.keySet() + ")");
            earlyReplies.clear();
            earlyReplyCount = 0;
        }
    }

    /** The client's direction ended: no request follows, so a reply still waiting for one names a loss. */
    void clientEnded() {
        clientEnded = true;
        ended();
    }
}
