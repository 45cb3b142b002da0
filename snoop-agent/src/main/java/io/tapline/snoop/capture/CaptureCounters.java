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
    volatile long kernelReceived;
    volatile String fileError;

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

    /**
     * Packets the kernel's filter passed to the capture, as of the last statistics read (live
     * capture; at most ~100 ms old while packets flow). {@link #packets()} below it is the backlog
     * the agent has seen but not yet decoded.
     */
    public long kernelReceived() {
        return kernelReceived;
    }

    /** Packets the kernel or interface dropped (live capture; {@code PcapHandle.getStats()}). */
    public long drops() {
        return drops;
    }
}
