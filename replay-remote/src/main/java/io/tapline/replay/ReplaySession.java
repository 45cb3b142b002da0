package io.tapline.replay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.tapline.journey.ConnectionErrorText;
import io.tapline.journey.JourneyDecoder;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replayer's side of one journey connection: checks the HELLO, claims the volume, answers
 * WELCOME with the durable last applied sequence, and hands each BATCH to the volume's apply
 * thread, which sends the ACK once the batch is durable (or ERROR, then closes).
 *
 * <p>Threads: messages arrive on the channel's event loop; HELLO and BATCH work runs on the
 * volume's own thread, in arrival order. {@code state} is volatile because both touch it.
 * Inbound messages hold no {@code ByteBuf}s.
 */
final class ReplaySession extends SimpleChannelInboundHandler<JourneyMessage> {
    private static final Logger log = LoggerFactory.getLogger(ReplaySession.class);

    private enum State {
        AWAIT_HELLO,
        OPENING,
        ACTIVE,
        CLOSED
    }

    /** A group commit takes queued batches up to this many uncompressed bytes. */
    static final long GROUP_BYTES = 32L << 20;
    /**
     * Groups one apply task may stage from batches that arrived after it started: the pipeline
     * keeps going while a source sends, and a task queued behind it (a control message, an
     * administrator's request) waits at most this many groups longer than before pipelining.
     */
    static final int GROUPS_PAST_START = 8;

    private final ReplayConfig config;
    private final Queue<ReceivedBatch> queued = new ConcurrentLinkedQueue<>();
    /**
     * At most this many uncompressed bytes of queued batches are unpacked on the event loop ahead
     * of the apply thread: twice a group, so the next group is always ready, and a bound on what
     * a session holds uncompressed whatever the link's compression ratio.
     */
    static final long UNPACK_AHEAD_BYTES = 2 * GROUP_BYTES;
    /** Uncompressed bytes of the unpacked batches in {@link #queued} (event loop adds, apply thread subtracts). */
    private final java.util.concurrent.atomic.AtomicLong unpackedQueuedBytes = new java.util.concurrent.atomic.AtomicLong();
    /** Batches received (event loop) and taken from {@link #queued} (apply thread): bound one apply task's pipeline. */
    private final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
    private long taken;
    /**
     * When each received batch not yet acknowledged arrived ({@link System#nanoTime}), oldest
     * first: the event loop adds, the apply thread removes one per ACK. Its head says how long
     * the replica has kept the source waiting (the heartbeat reports it).
     */
    private final java.util.concurrent.ConcurrentLinkedDeque<Long> unackedArrivals =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    /** Event loop only: a WARN about a batch held past {@link #HELD_WARN_MILLIS} was logged and not yet cleared. */
    private boolean heldWarned;
    private final Function<String, VolumeHost> hosts;
    private final Runnable onRefusedPeer;
    /** The connection's byte clock ({@link InboundClock}); null in a pipeline without one (never silent then). */
    private volatile InboundClock clock;
    /** The source named in this session's HELLO; empty before it. */
    private volatile String sourceId = "";
    /** The source's protocol version (its HELLO): what it can decode of the control messages sent to it. */
    private volatile int peerProtocolVersion = io.tapline.journey.JourneyProtocol.VERSION;
    /** A new session of the same source takes the volume from this one once it has been silent this long. */
    private final long takeoverSilenceNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
            io.tapline.log.BoundedProperty.read(TAKEOVER_SILENCE_PROPERTY, TAKEOVER_SILENCE_MILLIS, 3_600_000,
                    "milliseconds"));
    private volatile State state = State.AWAIT_HELLO;
    /** Set by a failed TLS handshake's event (logged there once); the exception that follows is not logged again. */
    private boolean tlsHandshakeFailed;
    private volatile Channel channel;
    private volatile VolumeHost host;
    private volatile ReplicaVolume volume;
    private volatile String volumeId = "-";
    /** Event loop only: consecutive reader-idle periods of an open session. */
    private int silentPeriods;
    /** The last replica state sent to the source: written by the apply thread, repeated by the heartbeat. */
    private volatile io.tapline.journey.control.ReplicaStateReport lastReport;
    /** The heartbeat's schedule on the channel's event loop, once the session is active. */
    private volatile java.util.concurrent.ScheduledFuture<?> heartbeat;
    /**
     * How often an active session repeats its last replica state to the source: the source takes a
     * silence of several of them for a replayer that stopped answering (docs/journey-protocol.md).
     */
    static final long HEARTBEAT_MILLIS = 1000;
    /**
     * A live session whose connection has received no byte for this long gives its volume to a
     * new session of the same source (its sources send SourceHead every second): the source
     * reconnected, so the old connection's path is gone even though no FIN or RST came (as an
     * iSCSI target reinstates a session on a new login with the same initiator identity).
     */
    static final long TAKEOVER_SILENCE_MILLIS = 5_000;
    static final String TAKEOVER_SILENCE_PROPERTY = "tapline.replay.takeoverSilenceMillis";
    /** A received batch unacknowledged this long is logged at WARN: the replica's disk is slow or hangs. */
    static final long HELD_WARN_MILLIS = 10_000;

    ReplaySession(ReplayConfig config, Function<String, VolumeHost> hosts, Runnable onRefusedPeer) {
        this.config = config;
        this.hosts = hosts;
        this.onRefusedPeer = onRefusedPeer;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        channel = ctx.channel();
        clock = ctx.pipeline().get(InboundClock.class);
        log.debug("session open conn={}", channel.remoteAddress());
        super.channelActive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, JourneyMessage msg) {
        switch (state) {
            case AWAIT_HELLO -> {
                PeerGate.Verdict verdict = PeerGate.check(config, channel, msg);
                if (verdict.refusal() != null) {
                    onRefusedPeer.run();
                    log.warn("peer refused conn={} actor={} reason={}", channel.remoteAddress(), verdict.actor(),
                            verdict.refusal());
                    String refusedVolume = msg instanceof JourneyMessage.AdminRequest r ? r.volumeId()
                            : msg instanceof JourneyMessage.Hello h ? h.volumeId() : null;
                    if (refusedVolume != null && VolumeIds.problem(refusedVolume) == null
                            && java.nio.file.Files.isDirectory(config.dataDir().resolve(refusedVolume))) {
                        hosts.apply(refusedVolume).auditRefusal(verdict.actor(), verdict.refusal() + " (from "
                                + channel.remoteAddress() + ")");
                    }
                    refuse(verdict.refusal());
                    return;
                }
                msg = verdict.message();
                if (msg instanceof JourneyMessage.Hello hello) {
                    onHello(hello);
                } else if (msg instanceof JourneyMessage.AdminRequest req) {
                    state = State.OPENING;
                    new AdminHandler(config, hosts, channel).handle(req);
                } else {
                    error("protocol: type: " + msg.type() + " (expected: HELLO first)");
                }
            }
            case OPENING, ACTIVE -> {
                if (msg instanceof JourneyMessage.Batch batch) {
                    onBatch(batch);
                } else if (msg instanceof JourneyMessage.Control control && state == State.ACTIVE) {
                    onControl(control);
                } else if (msg instanceof JourneyMessage.Error e) {
                    log.warn("source error volume={} conn={} message={}", volumeId, channel.remoteAddress(),
                            e.message());
                    close("source sent ERROR");
                } else {
                    error("protocol: type: " + msg.type() + " (expected: BATCH)");
                }
            }
            case CLOSED -> log.trace("ignoring {} after close conn={}", msg.type(), channel.remoteAddress());
            default -> throw new IllegalStateException("state: " + state);
        }
    }

    private void onHello(JourneyMessage.Hello hello) {
        String problem = helloProblem(hello);
        if (problem != null) {
            refuse(problem);
            return;
        }
        volumeId = hello.volumeId();
        sourceId = hello.sourceId();
        peerProtocolVersion = hello.protocolVersion();
        VolumeHost h = hosts.apply(hello.volumeId());
        if (h.adminBusy()) {
            refuse("volume " + hello.volumeId() + " is busy with an administrator's operation (rollback, promote or demote)");
            return;
        }
        if (!h.claim(this)) {
            refuse("volume busy: volume " + hello.volumeId() + " already has a live session");
            return;
        }
        host = h;
        state = State.OPENING;
        JourneyDecoder decoder = channel.pipeline().get(JourneyDecoder.class);
        if (decoder != null) {
            decoder.setAsideRoomForBatches(); // admitted: its batch headers may now size the receive buffer
        }
        h.executor().execute(() -> {
            if (state == State.CLOSED) {
                return;
            }
            try {
                ReplicaVolume v = h.open(hello);
                volume = v;
                state = State.ACTIVE;
                host.sourceStopping(null); // running again: its earlier last word no longer holds
                startHeartbeat();
                channel.writeAndFlush(new JourneyMessage.Welcome(v.lastApplied()));
                reportState(v);
                log.info("session welcomed volume={} source={} conn={} lastApplied={}", hello.volumeId(),
                        hello.sourceId(), channel.remoteAddress(), v.lastApplied());
            } catch (RefusedException e) {
                refuse(e.getMessage());
            } catch (IOException | RuntimeException e) {
                log.error("volume={} cannot be opened: {}", hello.volumeId(), e.toString());
                String why = io.tapline.log.DurableFiles.reason(e);
                // A channel's errno alone ("No space left on device") names no disk: say which folder.
                refuse("volume cannot be opened on the replayer: "
                        + (why.contains("/") ? why : h.volumeDir() + ": " + why));
            }
        });
    }

    private String helloProblem(JourneyMessage.Hello hello) {
        if (!JourneyProtocol.supports(hello.protocolVersion())) {
            return "protocol version unsupported: protocolVersion: " + hello.protocolVersion() + " (expected: "
                    + JourneyProtocol.supportedRange() + ")";
        }
        if (!config.credential().isEmpty() && !MessageDigest.isEqual(
                config.credential().getBytes(StandardCharsets.UTF_8),
                hello.credential().getBytes(StandardCharsets.UTF_8))) {
            return "bad credential for volume " + hello.volumeId();
        }
        String idProblem = VolumeIds.problem(hello.volumeId());
        if (idProblem != null) {
            return "bad volume id: " + idProblem;
        }
        String sourceProblem = VolumeIds.nameProblem("sourceId", hello.sourceId());
        if (sourceProblem != null) {
            return "bad source id: " + sourceProblem;
        }
        if (hello.volumeSizeBytes() <= 0) {
            return "volume size mismatch: volumeSizeBytes: " + hello.volumeSizeBytes() + " (expected: > 0)";
        }
        if (hello.blockSizeBytes() <= 0) {
            return "blockSizeBytes: " + hello.blockSizeBytes() + " (expected: > 0)";
        }
        return null;
    }

    /**
     * On the event loop: unpacks, checks and digests the batch here ({@link ReceivedBatch}: CRC-32Cs,
     * payload copies and the audit's SHA-256s, about 1.4 s of CPU per GiB, within the link's pace
     * and parallel to the apply), so that the apply thread, which is serial by the ordering
     * contract, spends its time on the files and the audit thread only appends and syncs; a
     * damaged batch keeps its failure for the apply thread to report in order. Unpacked batches
     * hold their bytes uncompressed: past {@link #UNPACK_AHEAD_BYTES} of them queued, a batch is
     * queued as it came and the apply thread unpacks it (so a well-compressed backlog cannot fill
     * the heap).
     */
    private void onBatch(JourneyMessage.Batch batch) {
        received.incrementAndGet();
        unackedArrivals.addLast(System.nanoTime());
        int bytes = batch.uncompressedLength();
        if (unpackedQueuedBytes.get() + bytes <= UNPACK_AHEAD_BYTES) {
            unpackedQueuedBytes.addAndGet(bytes);
            queued.add(ReceivedBatch.unpack(batch));
        } else {
            queued.add(ReceivedBatch.later(batch)); // unpacked by the apply thread, as it comes to it
        }
        host.executor().execute(this::applyQueued);
    }

    /**
     * On the volume's apply thread: takes every batch queued so far (up to {@link #GROUP_BYTES})
     * and applies them as one group commit, then acknowledges each in order. A shipper keeps
     * several batches in flight, so while one group is made durable the next one gathers: the
     * fdatasyncs are shared by several batches instead of paid per batch.
     *
     * <p>Pipelined: while batches keep arriving, group N+1 is staged (before-images, undo
     * fdatasync, replica writes) while group N's replica fdatasync runs, and only then is N
     * completed (applied sequence persisted) and acknowledged ({@link ReplicaVolume#stage}). The
     * pipeline never outlives this task: the last group is completed before it returns, so a
     * control message, an administrator's request or a close queued behind it sees no group in
     * flight; and past the batches received before the task started it stages at most
     * {@link #GROUPS_PAST_START} groups, so such a task never waits for a source that keeps sending.
     */
    private void applyQueued() {
        ReplicaVolume v = volume;
        // Past the batches received before this task started, at most GROUPS_PAST_START more
        // groups: a control message or an administrator's task queued behind it never waits for
        // a source that keeps sending.
        long target = received.get();
        // The first group takes half of what is queued (a shipper's window is often one or two
        // groups' worth, refilled only by ACKs): the other half is then staged while it syncs.
        List<ReceivedBatch> group = pollGroup((queued.size() + 1) / 2);
        if (group.isEmpty() || state == State.CLOSED || v == null) {
            return;
        }
        List<ReceivedBatch> pendingGroup = null;
        ReplicaVolume.StagedGroup pending = null;
        long pendingStart = 0;
        List<ReceivedBatch> failing = group;
        int stagedGroups = 0;
        try {
            while (true) {
                long t0 = System.nanoTime();
                ReplicaVolume.StagedGroup staged;
                try {
                    staged = v.stageReceived(group);
                } catch (IOException | RuntimeException e) {
                    if (pending != null) { // the volume is broken: N is undone with N+1 when it is reopened
                        v.abandon(pending);
                        pending = null;
                        List<ReceivedBatch> both = new ArrayList<>(pendingGroup);
                        both.addAll(group);
                        failing = both;
                    }
                    throw e;
                }
                if (pending != null) {
                    failing = pendingGroup;
                    try {
                        completeAndAck(v, pendingGroup, pending, pendingStart);
                    } catch (IOException | RuntimeException e) {
                        v.abandon(staged);
                        throw e;
                    }
                }
                pending = staged;
                pendingGroup = group;
                pendingStart = t0;
                failing = group;
                stagedGroups++;
                group = staged.rejected() || state == State.CLOSED
                        || (taken >= target && stagedGroups > GROUPS_PAST_START) ? List.of() : pollGroup(Integer.MAX_VALUE);
                if (group.isEmpty()) {
                    break;
                }
                failing = group;
            }
            ReplicaVolume.StagedGroup last = pending;
            pending = null;
            failing = pendingGroup;
            completeAndAck(v, pendingGroup, last, pendingStart);
        } catch (ReplicaVolume.GroupFailure e) {
            reportState(v);
            ack(failing, e.appliedAcks());
            dropQueued();
            error(e.getMessage());
        } catch (IOException e) {
            log.error("volume={} applying batches {}..{} failed: {}", volumeId, failing.get(0).batchId(),
                    failing.get(failing.size() - 1).batchId(), e.toString());
            dropQueued();
            reportState(v);
            error("replayer I/O error applying batch " + failing.get(0).batchId() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            dropQueued();
            error(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** Drops every queued batch (the session failed; the source re-sends what was not acknowledged). */
    private void dropQueued() {
        while (takeQueued() != null) {
            // dropped
        }
    }

    /** The next queued batch, no longer counted in {@link #unpackedQueuedBytes}; null when none. */
    private ReceivedBatch takeQueued() {
        ReceivedBatch b = queued.poll();
        if (b != null && b.isUnpacked()) {
            unpackedQueuedBytes.addAndGet(-b.uncompressedLength());
        }
        return b;
    }

    /** Batches queued so far, up to {@link #GROUP_BYTES} and {@code maxBatches} (at least one when any is queued). */
    private List<ReceivedBatch> pollGroup(int maxBatches) {
        List<ReceivedBatch> group = new ArrayList<>();
        long bytes = 0;
        ReceivedBatch b;
        while ((group.isEmpty() || (bytes < GROUP_BYTES && group.size() < maxBatches)) && (b = takeQueued()) != null) {
            group.add(b);
            bytes += b.uncompressedLength();
        }
        taken += group.size();
        return group;
    }

    private void completeAndAck(ReplicaVolume v, List<ReceivedBatch> group, ReplicaVolume.StagedGroup staged,
            long t0) throws IOException {
        long[] acks = v.complete(staged);
        if (log.isDebugEnabled()) {
            long bytes = 0;
            for (ReceivedBatch b : group) {
                bytes += b.uncompressedLength();
            }
            long now = System.nanoTime();
            log.debug("group applied volume={} batches={} bytes={} micros={}", volumeId, group.size(), bytes,
                    (now - t0) / 1000);
            logPhases(now);
        }
        reportState(v); // before the ACKs: a source never sees a GAP acked without its state
        ack(group, acks);
    }

    /** How often the DEBUG log sums where the apply time went ({@code -Dtapline.replay.phasesLogMillis}, default 10 s). */
    private static final long PHASES_LOG_NANOS = Math.max(1, Long.getLong("tapline.replay.phasesLogMillis", 10_000))
            * 1_000_000L;
    /** When {@link BatchApply#PHASES} were last logged (all sessions). */
    private static final java.util.concurrent.atomic.AtomicLong phasesLoggedAt =
            new java.util.concurrent.atomic.AtomicLong(System.nanoTime());

    /** DEBUG: where the apply time went over the last 10 s or more, summed over every volume (then reset). */
    private static void logPhases(long now) {
        long at = phasesLoggedAt.get();
        if (now - at >= PHASES_LOG_NANOS && phasesLoggedAt.compareAndSet(at, now)) {
            log.debug("apply phases over {} ms, all volumes (s): {}", (now - at) / 1_000_000L,
                    BatchApply.PHASES.takeSummary());
        }
    }

    /** A control message from the source: chunk hashes are computed on the apply thread, in order with batches. */
    private void onControl(JourneyMessage.Control control) {
        io.tapline.journey.control.ControlMessage m;
        try {
            m = io.tapline.journey.control.ControlCodec.decode(control);
        } catch (RuntimeException e) {
            error(e.getMessage());
            return;
        }
        if (m instanceof io.tapline.journey.control.SourceDiverged d) {
            host.executor().execute(() -> {
                ReplicaVolume v = volume;
                if (v == null || state == State.CLOSED) {
                    return;
                }
                try {
                    v.diverged(d);
                } catch (IOException | RuntimeException e) {
                    log.error("volume={} divergence not recorded: {}", volumeId, e.toString());
                }
                reportState(v);
            });
            return;
        }
        if (m instanceof io.tapline.journey.control.SourceHead head) {
            host.sourceHead(head);
            return;
        }
        if (m instanceof io.tapline.journey.control.SourceStopping stopping) {
            log.info("source stopping volume={} conn={} capturedSequence={} unshippedChanges={}", volumeId,
                    channel.remoteAddress(), stopping.capturedSequence(), stopping.unshippedChanges());
            host.sourceStopping(stopping);
            return;
        }
        if (m instanceof io.tapline.journey.control.SourceGeneration g) {
            if (g.generation() < 1 || g.generation() > io.tapline.journey.JourneyProtocol.MAX_GENERATION) {
                error("protocol: SourceGeneration generation: " + g.generation() + " (expected: 1.."
                        + io.tapline.journey.JourneyProtocol.MAX_GENERATION + ")");
                return;
            }
            host.executor().execute(() -> {
                try {
                    host.learnGeneration(g.generation());
                } catch (IOException | RuntimeException e) {
                    log.error("volume={} source generation {} not recorded: {}", volumeId, g.generation(), e.toString());
                }
            });
            return;
        }
        if (m instanceof io.tapline.journey.control.VerifyReport report) {
            host.executor().execute(() -> {
                ReplicaVolume v = volume;
                if (v == null || state == State.CLOSED) {
                    return;
                }
                try {
                    v.verified(report);
                } catch (IOException | RuntimeException e) {
                    log.error("volume={} verify report not recorded: {}", volumeId, e.toString());
                }
                reportState(v);
            });
            return;
        }
        if (!(m instanceof io.tapline.journey.control.ChunkHashRequest req)) {
            error("protocol: control: " + m.getClass().getSimpleName() + " (expected: ChunkHashRequest, VerifyReport, SourceGeneration, SourceHead, SourceStopping or SourceDiverged)");
            return;
        }
        if (unansweredHashRequests.incrementAndGet() > MAX_UNANSWERED_HASH_REQUESTS) {
            // A source waits for each reply (one resync and one verify at a time): a peer that piles up
            // requests would have this side compute and hold 64 KiB replies without bound (probe J D6).
            error("protocol: more than " + MAX_UNANSWERED_HASH_REQUESTS + " chunk-hash requests unanswered (expected:"
                    + " a source waits for its replies)");
            return;
        }
        host.executor().execute(() -> {
            try {
                answerHashes(req);
            } finally {
                unansweredHashRequests.decrementAndGet();
            }
        });
    }

    /** Chunk-hash requests a session may have waiting for their replies (a source has one per resync or verify). */
    static final int MAX_UNANSWERED_HASH_REQUESTS = 16;
    private final java.util.concurrent.atomic.AtomicInteger unansweredHashRequests =
            new java.util.concurrent.atomic.AtomicInteger();

    private void answerHashes(io.tapline.journey.control.ChunkHashRequest req) {
        ReplicaVolume v = volume;
        if (state == State.CLOSED || v == null) {
            return;
        }
        io.tapline.journey.control.ChunkHashReply reply;
        String problem = req.problem();
        if (problem != null) {
            reply = io.tapline.journey.control.ChunkHashReply.failed(req.requestId(), problem);
        } else if (v.lastApplied() < req.minAppliedSequence()) {
            reply = io.tapline.journey.control.ChunkHashReply.failed(req.requestId(), "applied: " + v.lastApplied()
                    + " (expected: >= " + req.minAppliedSequence() + "); ask again later");
        } else {
            try {
                reply = v.hashChunks(req);
            } catch (IOException | RuntimeException e) {
                log.warn("volume={} hashing chunks failed: {}", volumeId, e.toString());
                reply = io.tapline.journey.control.ChunkHashReply.failed(req.requestId(), "hashing: " + e.getMessage());
            }
        }
        channel.writeAndFlush(io.tapline.journey.control.ControlCodec.encode(reply, peerProtocolVersion));
        reportState(v);
    }

    /** On the apply thread: the replica's state changed outside this session's work (its host noticed something). */
    void replicaStateChanged(ReplicaVolume v) {
        if (state == State.ACTIVE) {
            reportState(v);
        }
    }

    /** On the apply thread: tells the source the replica's state when it changed since the last report. */
    private void reportState(ReplicaVolume v) {
        io.tapline.journey.control.ReplicaStateReport report = v.status(true).toReport(v.resyncId())
                .withLastRecordCrc(v.lastRecordCrc()).withHeartbeat(HEARTBEAT_MILLIS);
        if (!report.equals(lastReport) && channel.isActive()) {
            lastReport = report;
            channel.writeAndFlush(io.tapline.journey.control.ControlCodec.encode(
                    report.withUnappliedFor(unappliedForMillis()), peerProtocolVersion));
        }
    }

    /** How long the oldest received, unacknowledged batch has waited; 0 when none. Any thread. */
    long unappliedForMillis() {
        Long oldest = unackedArrivals.peekFirst();
        return oldest == null ? 0 : java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - oldest);
    }

    private void ack(List<ReceivedBatch> group, long[] lastApplied) {
        for (int i = 0; i < lastApplied.length; i++) {
            unackedArrivals.pollFirst();
            ReceivedBatch batch = group.get(i);
            channel.writeAndFlush(new JourneyMessage.Ack(batch.batchId(), lastApplied[i], batch.crc32c()));
            log.trace("acked volume={} {} lastApplied={}", volumeId, batch, lastApplied[i]);
        }
    }

    private void refuse(String reason) {
        log.warn("session refused volume={} conn={} reason={}", volumeId, channel.remoteAddress(), reason);
        state = State.CLOSED;
        channel.writeAndFlush(new JourneyMessage.Refused(reason)).addListener(ChannelFutureListener.CLOSE);
    }

    private void error(String message) {
        if (state == State.CLOSED) {
            return;
        }
        log.warn("session error volume={} conn={} error={}", volumeId, channel.remoteAddress(), message);
        state = State.CLOSED;
        channel.writeAndFlush(new JourneyMessage.Error(message)).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * Reader-idle events ({@link LinkSecurity#handshakeTimeout()} apart): a connection that has
     * not said HELLO or ADMIN_REQUEST by the first is closed, and so is a source silent for three
     * (sources say SourceHead every second). Administrators' connections wait for their answer.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent tls && !tls.isSuccess()) {
            if (tlsHandshakeCutByNetwork(tls.cause())) {
                // Not a refusal: counting it sent a false security alarm in every network stall (probe AA D2).
                log.warn("tls handshake did not complete conn={}: {} (the connection was cut or stalled"
                        + " mid-handshake: look at the network path; not counted as a refused peer)",
                        ctx.channel().remoteAddress(), tlsFailure(tls.cause()));
            } else {
                onRefusedPeer.run();
                log.warn("peer refused conn={} reason=tls handshake failed: {} (a certificate or protocol refused)",
                        ctx.channel().remoteAddress(), tlsFailure(tls.cause()));
            }
            tlsHandshakeFailed = true;
            super.userEventTriggered(ctx, evt);
            return;
        }
        if (evt instanceof io.netty.handler.timeout.IdleStateEvent idle) {
            if (state == State.AWAIT_HELLO) {
                log.warn("session closed: no HELLO within {} conn={}", config.security().handshakeTimeout(),
                        ctx.channel().remoteAddress());
                close("handshake timeout");
            } else if (volume != null && state != State.CLOSED) {
                silentPeriods = idle.isFirst() ? 1 : silentPeriods + 1;
                if (silentPeriods >= 3) {
                    log.warn("session closed: source silent for {} volume={} conn={}",
                            config.security().handshakeTimeout().multipliedBy(3), volumeId,
                            ctx.channel().remoteAddress());
                    close("source silent");
                }
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    /**
     * Whether a failed TLS handshake was ended by the network rather than refused by either side:
     * Netty's handshake timeout (the peer's flight never arrived), the connection closed or reset
     * mid-handshake, or a record cut short (the JDK reads a truncated record as "Insufficient buffer
     * remaining for AEAD cipher fragment"). A certificate, a protocol version or a cipher refused,
     * and every failure not listed here, are refusals.
     */
    static boolean tlsHandshakeCutByNetwork(Throwable cause) {
        for (Throwable c = cause; c != null; c = c.getCause()) {
            String m = c.getMessage() == null ? "" : c.getMessage();
            if (c instanceof io.netty.handler.ssl.SslHandshakeTimeoutException
                    || c instanceof java.nio.channels.ClosedChannelException
                    || m.contains("Connection closed while SSL/TLS handshake was in progress")
                    || m.contains("Insufficient buffer remaining for AEAD cipher fragment")
                    || ConnectionErrorText.describeKnown(c, "the source") != null) {
                return true;
            }
        }
        return false;
    }

    private static boolean isNotTls(Throwable cause) {
        for (Throwable c = cause; c != null; c = c.getCause()) {
            if (c instanceof io.netty.handler.ssl.NotSslRecordException) {
                return true;
            }
        }
        return false;
    }

    /**
     * What a failed TLS handshake says, in one line and without the peer's bytes: Netty's
     * {@code NotSslRecordException} carries a hex dump of what a plain-TCP client sent, and a plain
     * journey client's HELLO holds its credential.
     */
    static String tlsFailure(Throwable cause) {
        if (cause == null) {
            return "?";
        }
        if (isNotTls(cause)) {
            return "not a TLS record (a plain-TCP client? this replayer expects TLS: start the peer with"
                    + " --tls-cert/--tls-key/--tls-ca)";
        }
        Throwable c = cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() != null
                ? cause.getCause() : cause;
        String m = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }

    /**
     * A peer that does not take its replies (acks, chunk-hash replies: 64 KiB for a 16-byte request)
     * is not read from while they wait past the high-water mark, so they cannot fill the process's
     * direct memory (probe J D6); read again once they drained. A peer that never reads then falls
     * silent to this side and is closed by the silence rule.
     */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (isNotTls(cause)) {
            close("not a TLS record"); // logged once, as a refused peer, by the handshake's event
            return;
        }
        if (tlsHandshakeFailed) {
            close("tls handshake failed"); // logged once by the handshake's event, not again as a session error
            return;
        }
        if (cause instanceof IOException) {
            log.debug("session I/O error volume={} conn={}: {}", volumeId, ctx.channel().remoteAddress(),
                    cause.toString());
            close("I/O error: " + ConnectionErrorText.describe(cause, "the source"));
        } else {
            error(cause.getMessage() == null ? cause.toString() : cause.getMessage());
        }
    }

    /**
     * Repeats the last replica state every {@link #HEARTBEAT_MILLIS} from the event loop while
     * the session is active: a replayer whose process hangs, or whose path vanished, falls silent,
     * and the source ends the session; one behind a slow line keeps talking while a batch crosses.
     */
    private void startHeartbeat() {
        Channel ch = channel;
        heartbeat = ch.eventLoop().scheduleAtFixedRate(() -> {
            io.tapline.journey.control.ReplicaStateReport last = lastReport;
            if (state == State.ACTIVE && ch.isActive() && last != null) {
                long held = unappliedForMillis();
                ch.writeAndFlush(io.tapline.journey.control.ControlCodec.encode(last.withUnappliedFor(held),
                        peerProtocolVersion));
                noteHeld(held);
            }
        }, HEARTBEAT_MILLIS, HEARTBEAT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
        if (!ch.isActive()) {
            heartbeat.cancel(false); // closed meanwhile: channelInactive may have looked before it was set
        }
    }

    /** Event loop: says once at WARN that the replica keeps a batch unapplied, and once when it moves again. */
    private void noteHeld(long heldMillis) {
        if (heldMillis >= HELD_WARN_MILLIS && !heldWarned) {
            heldWarned = true;
            log.warn("volume={} has held a received batch unapplied for {} ms: the replica's disk (undo log, replica"
                    + " or audit log) is slow or not answering; the source's status shows it", volumeId, heldMillis);
        } else if (heldMillis < HELD_WARN_MILLIS && heldWarned) {
            heldWarned = false;
            log.info("volume={} applies again: the oldest batch waiting is {} ms old", volumeId, heldMillis);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        java.util.concurrent.ScheduledFuture<?> beat = heartbeat;
        if (beat != null) {
            beat.cancel(false);
        }
        state = State.CLOSED;
        VolumeHost h = host;
        if (h != null) {
            h.release(this);
        }
        log.debug("session closed volume={} conn={}", volumeId, ctx.channel().remoteAddress());
        super.channelInactive(ctx);
    }

    /** How long this session's connection has received nothing at all, in milliseconds. */
    long silentForMillis() {
        return java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(silentForNanos());
    }

    private long silentForNanos() {
        InboundClock c = clock;
        return c == null ? 0 : System.nanoTime() - c.lastReadNanos();
    }

    /**
     * Whether {@code candidate}, a new session of this volume, may take it from this live one: it
     * comes from the same source, and this connection has heard nothing for the takeover silence.
     */
    boolean yieldsTo(ReplaySession candidate) {
        return !sourceId.isEmpty() && sourceId.equals(candidate.sourceId) && silentForNanos() >= takeoverSilenceNanos;
    }

    /** Whether this session still feeds its volume. */
    boolean isLive() {
        Channel ch = channel;
        return state != State.CLOSED && ch != null && ch.isActive();
    }

    /** Ends the session with an ERROR naming the administrator's operation. */
    void endForAdmin(String why) {
        error(why);
    }

    /** Closes the connection without a message. */
    void close(String why) {
        log.debug("closing session volume={} why={}", volumeId, why);
        state = State.CLOSED;
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    @Override
    public String toString() {
        Channel ch = channel;
        return "ReplaySession[volume=" + volumeId + ", conn=" + (ch == null ? "-" : ch.remoteAddress()) + ", state="
                + state + "]";
    }
}
