package io.tapline.snoop.capture;

import io.tapline.snoop.SnoopPipeline;
import io.tapline.snoop.tcp.TcpSegment;
import io.tapline.snoop.volume.VolumeRouter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongConsumer;
import org.pcap4j.core.BpfProgram;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.PcapNetworkInterface;
import org.pcap4j.core.PcapStat;
import org.pcap4j.core.Pcaps;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads frames and feeds a {@link SnoopPipeline}: live from an interface with a BPF filter (a
 * handle Pcap4J opens and configures; packets taken by {@link DirectPcapLoop} on the capture thread
 * into a {@link FrameQueue}, decoded on a decode thread), or offline from a pcap or pcapng file
 * through {@link CaptureFileReader} (no libpcap, no JNA: the
 * frames are parsed in place in one reused buffer, which is several times faster than a JNA
 * callback and a copy per frame).
 *
 * <p>Loss is made explicit: a frame the snaplen cut becomes a stream gap of the missing bytes
 * (via the TCP length); a rise of the live capture's drop counter ({@code getStats()}) becomes a
 * whole-volume GAP on every volume seen, since the dropped packets' connections are unknown.
 *
 * <p>One capture per instance; {@link #run} blocks the calling thread (the capture thread),
 * {@link #stop} may be called from any thread.
 */
public final class PcapCapture implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PcapCapture.class);
    /** libpcap's default and largest snapshot length ({@code tcpdump -s 0}). */
    public static final int MAX_SNAPLEN_BYTES = 262144;

    private final PcapHandle handle;
    private final CaptureFileReader reader;
    private final BpfFrameFilter fileFilter;
    private final boolean live;
    private final FrameParser parser;
    private final CaptureCounters counters = new CaptureCounters();
    private volatile boolean stopped;
    private FrameTap tap = FrameTap.NONE;
    /** Live capture: frames between the capture thread and the decode thread; null offline. */
    private final FrameQueue queue;
    private volatile Throwable decodeFailure;
    private final java.util.concurrent.CountDownLatch capturing = new java.util.concurrent.CountDownLatch(1);

    /** Receives every live frame on the capture thread, before decoding; must not block. */
    public interface FrameTap {
        FrameTap NONE = (linkType, frame, originalLength, timeNanos) -> { };

        /** {@code frame} is the capture's own copy: the tap may keep it. */
        void frame(int linkType, byte[] frame, int originalLength, long timeNanos);
    }

    private PcapCapture(PcapHandle handle, long decodeQueueBytes) {
        this.handle = handle;
        this.queue = new FrameQueue(decodeQueueBytes);
        this.counters.backlog(() -> !queue.isEmpty());
        this.reader = null;
        this.fileFilter = null;
        this.live = true;
        this.parser = new FrameParser(LinkType.fromWireValue(handle.getDlt().value()));
    }

    private PcapCapture(CaptureFileReader reader, BpfFrameFilter filter) {
        this.handle = null;
        this.queue = null;
        this.reader = reader;
        this.fileFilter = filter;
        this.live = false;
        this.parser = null;
    }

    /**
     * Opens a pcap or pcapng file.
     *
     * @throws IOException naming the file when it is missing or not a capture file
     */
    public static PcapCapture openFile(Path file) throws IOException {
        return openFile(file, null);
    }

    /**
     * Opens a pcap or pcapng file whose frames pass {@code filter} (null: every frame); the
     * capture owns and closes the filter.
     *
     * @throws IOException naming the file when it is missing or not a capture file
     */
    public static PcapCapture openFile(Path file, BpfFrameFilter filter) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException("capture file: " + file + " is a directory (expected: a pcap or pcapng file)");
        }
        if (!Files.isRegularFile(file)) {
            throw new java.nio.file.NoSuchFileException(file.toString());
        }
        try {
            return new PcapCapture(CaptureFileReader.open(file), filter);
        } catch (IllegalArgumentException e) {
            throw new IOException("pcap: " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Opens a live capture on {@code interfaceName} (needs root or CAP_NET_RAW) with a kernel
     * buffer of {@code bufferBytes}, snapshot length {@link #MAX_SNAPLEN_BYTES} and an optional
     * BPF filter.
     */
    public static PcapCapture openLive(String interfaceName, String filter, int bufferBytes) throws IOException {
        return openLive(interfaceName, filter, bufferBytes, MAX_SNAPLEN_BYTES, DEFAULT_DECODE_QUEUE_BYTES);
    }

    /** The live capture thread's nice value when the process may raise it ({@link ThreadNice}). */
    static final int CAPTURE_THREAD_NICE = -10;

    /** The decode queue's default capacity: 512 MiB, about a second of a 4 Gbit/s line. */
    public static final long DEFAULT_DECODE_QUEUE_BYTES = 512L << 20;

    /**
     * Opens a live capture keeping at most {@code snaplenBytes} of each frame (a shorter frame
     * loses the rest of its TCP payload: a stream gap), decoding on its own thread behind a queue
     * of {@code decodeQueueBytes} ({@link FrameQueue}).

     *
     * @throws CapturePermissionException when the process may not capture (not root, no CAP_NET_RAW)
     * @throws IOException                naming the interface for any other failure (no such
     *                                    interface, a filter that does not compile)
     */
    public static PcapCapture openLive(String interfaceName, String filter, int bufferBytes, int snaplenBytes,
            long decodeQueueBytes) throws IOException {
        if (snaplenBytes < 1 || snaplenBytes > MAX_SNAPLEN_BYTES) {
            throw new IllegalArgumentException("snaplen: " + snaplenBytes + " (expected: 1 to " + MAX_SNAPLEN_BYTES + ")");
        }
        try {
            PcapNetworkInterface nif = Pcaps.getDevByName(interfaceName);
            if (nif == null) {
                throw new IOException("interface: " + interfaceName
                        + " (expected: a capture device, see tapline snoop --list-interfaces)");
            }
            PcapHandle handle = new PcapHandle.Builder(interfaceName).snaplen(snaplenBytes)
                    .promiscuousMode(PcapNetworkInterface.PromiscuousMode.PROMISCUOUS).timeoutMillis(100)
                    .bufferSize(bufferBytes).timestampPrecision(PcapHandle.TimestampPrecision.NANO).build();
            if (filter != null && !filter.isBlank()) {
                try {
                    handle.setFilter(filter, BpfProgram.BpfCompileMode.OPTIMIZE);
                } catch (PcapNativeException e) {
                    handle.close();
                    throw new IllegalArgumentException("--filter: '" + filter + "' (expected: a BPF expression: "
                            + e.getMessage() + ")", e);
                }
            }
            return new PcapCapture(handle, decodeQueueBytes);
        } catch (PcapNativeException | NotOpenException e) {
            if (CapturePermissionException.isPermissionError(e.getMessage())) {
                throw new CapturePermissionException(interfaceName, e);
            }
            throw new IOException("capture on " + interfaceName + ": " + e.getMessage(), e);
        }
    }

    /**
     * Waits until the capture thread is taking packets out of the kernel ring (live capture).
     * The handle fills the ring from the moment it is opened; a peer that starts writing at line
     * rate before the thread drains it (a cold JVM loads classes and native libraries first)
     * overflows even a large ring, so "capturing" is announced only after this returns true.
     */
    public boolean awaitCapturing(java.time.Duration timeout) throws InterruptedException {
        return capturing.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** The live capture's decode queue (its fill, high-water mark and refusals); null offline. */
    public FrameQueue decodeQueue() {
        return queue;
    }

    /**
     * Hands every live frame to {@code tap} (e.g. the evidence ring of {@code --write-pcap}) on
     * the capture thread before decoding. Call before {@link #run}.
     */
    public void tap(FrameTap tap) {
        this.tap = java.util.Objects.requireNonNull(tap, "tap");
    }

    /** The link type (DLT) of the live capture, as a pcap file header names it. */
    public int liveLinkType() {
        return handle.getDlt().value();
    }

    public CaptureCounters counters() {
        return counters;
    }

    /**
     * Reads until end of file or {@link #stop}, then finishes the pipeline (held bytes delivered,
     * holes reported).
     *
     * @param progress called now and then with the bytes of the file read so far (pcap record
     *                 headers included; an estimate for pcapng)
     */
    public void run(SnoopPipeline pipeline, VolumeRouter router, LongConsumer progress) throws IOException {
        if (live) {
            runLive(pipeline, router, progress);
        } else {
            new OfflineRun(reader, counters, pipeline, fileFilter).run(router, progress);
        }
    }

    private void runLive(SnoopPipeline pipeline, VolumeRouter router, LongConsumer progress) throws IOException {
        int dlt = handle.getDlt().value();
        FrameTap frameTap = tap;
        Thread decoder = new Thread(() -> decodeLive(pipeline, progress), "snoop-decode");
        decoder.start();
        ThreadNice.raiseCurrentThread(CAPTURE_THREAD_NICE);
        // The capture thread only takes frames out of the kernel ring: each one is copied once,
        // from libpcap's ring into the decode queue (DirectPcapLoop); with an evidence ring it gets
        // its own array, handed to the ring and queued. Decoding, reassembly and the buffer appends
        // run on the decode thread, so that a stall there (JIT, disk, a busy core) fills the
        // queue, not the kernel ring.
        LiveFrames frames = new LiveFrames(dlt, frameTap);
        try {
            DirectPcapLoop loop = new DirectPcapLoop(handle);
            capturing.countDown();
            loop.run(frames, () -> stopped);
        } catch (IOException e) {
            throw new IOException("capture: " + e.getMessage(), e);
        } finally {
            queue.close();
            joinDecoder(decoder);
            checkDrops(router);
        }
        if (decodeFailure != null) {
            throw new IOException("decode: " + decodeFailure.getMessage(), decodeFailure);
        }
    }

    /** The capture thread's side: each frame from libpcap into the queue (and the evidence ring). */
    private final class LiveFrames implements DirectPcapLoop.Sink, FrameQueue.FrameCopier {
        private final int dlt;
        private final FrameTap frameTap;
        private com.sun.jna.Pointer current;

        LiveFrames(int dlt, FrameTap frameTap) {
            this.dlt = dlt;
            this.frameTap = frameTap;
        }

        @Override
        public void frame(com.sun.jna.Pointer bytes, int capturedLength, int originalLength, long timeNanos) {
            if (frameTap != FrameTap.NONE) {
                byte[] copy = bytes.getByteArray(0, capturedLength);
                frameTap.frame(dlt, copy, originalLength, timeNanos);
                queue.offer(copy, originalLength, timeNanos);
                return;
            }
            current = bytes;
            queue.offer(capturedLength, originalLength, timeNanos, this);
            current = null;
        }

        @Override
        public void copy(java.nio.ByteBuffer dst, int offset, int length) {
            if (length > 0) { // native to native: one memcpy
                dst.put(offset, current.getByteBuffer(0, length), 0, length);
            }
        }
    }

    /** The decode thread: frames from the queue, in capture order, through the pipeline. */
    private void decodeLive(SnoopPipeline pipeline, LongConsumer progress) {
        long[] frameBytes = {0};
        FrameQueue.FrameConsumer decode = (buf, offset, length, originalLength, timeNanos) -> {
            counters.packets++;
            counters.bytes += length;
            frameBytes[0] += 16 + length;
            if (originalLength > length) {
                counters.truncatedPackets++;
            }
            TcpSegment s = parser.parse(buf, offset, length, originalLength, timeNanos);
            if (s != null) {
                pipeline.segment(s);
            }
            // Per packet on purpose (a vDSO clock read, two stores): "caught up" tests whether a packet
            // was decoded in the last 500 ms; the kernel-arrival signal lags by up to 200 ms, so a
            // short burst recorded only every N packets could be taken for idleness.
            counters.lastPacketMillis = timeNanos / 1_000_000L;
            counters.lastDeliveryMillis = System.currentTimeMillis();
            if ((counters.packets & 0x3FF) == 0) {
                progress.accept(frameBytes[0]);
            }
        };
        try {
            while (queue.drain(decode, 100) > 0 || !queue.ended()) {
                // drained a run of frames, or waited for the next
            }
            progress.accept(frameBytes[0]);
            pipeline.finish();
        } catch (RuntimeException | Error e) {
            decodeFailure = e;
            log.error("decoding stopped error={}", e.toString());
            stop();
        }
    }

    private void joinDecoder(Thread decoder) {
        try {
            // the decoder drains what was queued before it ends: at most the queue's capacity
            decoder.join();
        } catch (InterruptedException e) {
            decoder.interrupt();
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Reads the kernel's drop counter and turns new drops into a whole-volume GAP everywhere. Live
     * capture: called by the agent's housekeeping thread every 200 ms, not by the capture thread, so
     * that drops are seen even when no packet is delivered (a stalled ring, a capture thread
     * blocked on the disk): a gap the capture thread cannot report would otherwise look like an
     * idle, complete capture. Only this caller reads the statistics while the capture runs
     * (pcap_stats on Linux resets the kernel counters it accumulates).
     */
    public synchronized void pollDrops(VolumeRouter router) {
        if (live && !stopped) {
            checkDrops(router);
        }
    }

    private synchronized void checkDrops(VolumeRouter router) {
        try {
            PcapStat st = handle.getStats();
            long drops = st.getNumPacketsDropped() + st.getNumPacketsDroppedByIf() + queue.refusedFrames();
            long received = st.getNumPacketsReceived();
            if (received != counters.kernelReceived) {
                counters.kernelReceived = received;
                counters.lastKernelArrivalMillis = System.currentTimeMillis();
            }
            if (drops > counters.drops) {
                long newDrops = drops - counters.drops;
                counters.drops = drops;
                log.warn("capture dropped packets count={} total={} decodeQueueRefused={} decodeQueueHighWaterBytes={}",
                        newDrops, drops, queue.refusedFrames(), queue.highWaterBytes());
                router.gapEverywhere("capture dropped " + newDrops + " packets");
            }
        } catch (PcapNativeException | NotOpenException e) {
            log.warn("capture statistics unavailable error={}", e.toString());
        }
    }

    /** Ends {@link #run} from any thread (live capture). */
    public void stop() {
        stopped = true;
        if (handle == null) {
            return;
        }
        try {
            handle.breakLoop();
        } catch (NotOpenException e) {
            log.debug("stop after close error={}", e.toString());
        }
    }

    @Override
    public void close() {
        if (handle != null) {
            handle.close();
            return;
        }
        if (fileFilter != null) {
            fileFilter.close();
        }
        try {
            reader.close();
        } catch (IOException e) {
            log.warn("capture file close failed error={}", e.toString());
        }
    }
}
