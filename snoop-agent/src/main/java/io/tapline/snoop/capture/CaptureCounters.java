package io.tapline.snoop.capture;

/**
 * What a capture run saw. Written by the capture thread; read by any (volatile fields, not a
 * consistent snapshot).
 */
public final class CaptureCounters {
    volatile long packets;
    volatile long bytes;
    volatile long truncatedPackets;
    volatile long drops;
    volatile long lastPacketMillis;
    volatile long lastDeliveryMillis;
    volatile long kernelReceived;
    volatile long lastKernelArrivalMillis;
    volatile String fileError;
    volatile long filteredOutPackets;
    private volatile java.util.function.BooleanSupplier backlog = () -> false;

    /** Tells the counters whether frames wait to be decoded (live capture's decode queue). */
    void backlog(java.util.function.BooleanSupplier waiting) {
        this.backlog = waiting;
    }

    /** Frames of a capture file that the {@code --filter} expression rejected (counted in {@link #packets}). */
    public long filteredOutPackets() {
        return filteredOutPackets;
    }

    /** Why reading the capture file stopped before its end (truncated or damaged), or null. */
    public String fileError() {
        return fileError;
    }

    public long packets() {
        return packets;
    }

    /** Captured bytes (frame bytes, not file bytes). */
    public long bytes() {
        return bytes;
    }

    /** Frames the snaplen cut short. */
    public long truncatedPackets() {
        return truncatedPackets;
    }

    /** Capture timestamp (UTC ms) of the newest packet decoded; 0 before the first. */
    public long lastPacketMillis() {
        return lastPacketMillis;
    }

    /**
     * When (UTC ms, this host's clock) the last packet libpcap delivered was decoded, or now while
     * delivered packets wait in the decode queue. libpcap delivers within its 100 ms read timeout
     * whenever the kernel ring holds packets, so a capture idle for longer has decoded everything
     * the kernel had passed it. (pcap_stats' received count is no help
     * here: on lo it counts each packet twice.)
     */
    public long lastDeliveryMillis() {
        // frames waiting in the decode queue are delivery still under way, however long it stalls
        return backlog.getAsBoolean() ? System.currentTimeMillis() : lastDeliveryMillis;
    }

    /** Idle this long (beyond libpcap's 100 ms read timeout): the kernel ring is empty. */
    public static final long IDLE_MILLIS = 500;

    /**
     * Whether every packet captured up to {@code sinceMillis} has been decoded, as of
     * {@code nowMillis}: a packet captured at or after it was decoded (packets are decoded in
     * order), or the capture has been idle for {@link #IDLE_MILLIS} since then.
     */
    public boolean decodedEverythingUpTo(long sinceMillis, long nowMillis) {
        return lastPacketMillis >= sinceMillis
                || !backlog.getAsBoolean() && nowMillis >= sinceMillis && nowMillis - lastDeliveryMillis >= IDLE_MILLIS
                && nowMillis - lastKernelArrivalMillis >= IDLE_MILLIS;
    }

    /**
     * When (UTC ms) the kernel's received count last grew, as seen by the drop poll (every 200 ms).
     * Packets arriving while none is delivered mean a stalled capture, not an idle one.
     */
    public long lastKernelArrivalMillis() {
        return lastKernelArrivalMillis;
    }

    /**
     * Packets lost by the live capture: those the kernel or interface dropped
     * ({@code PcapHandle.getStats()}) and those the full decode queue refused ({@link FrameQueue}).
     */
    public long drops() {
        return drops;
    }
}
