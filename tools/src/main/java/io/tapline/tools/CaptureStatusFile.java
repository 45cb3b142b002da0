package io.tapline.tools;

import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code capture-status.json} at the root of a live snoop's buffer: what the agent has decoded and
 * when it last got a packet, rewritten every 200 ms, so that {@code tapline status --wait-synced}
 * can wait for what the agent had seen when it started, not only for what it had decoded.
 * Advisory (temp file + rename, no fsync).
 *
 * @param packetsDecoded     packets the agent has processed (their writes are in the buffer)
 * @param lastPacketMillis   capture time (UTC ms) of the newest packet decoded, 0 before any
 * @param lastDeliveryMillis when libpcap last delivered a packet (UTC ms), 0 before any
 * @param lastKernelArrivalMillis when the kernel's received count last grew (UTC ms), 0 before any
 * @param drops              packets the kernel or interface dropped
 * @param running            false once the snoop stopped
 * @param updatedAtMillis    when it was written
 */
public record CaptureStatusFile(long packetsDecoded, long lastPacketMillis, long lastDeliveryMillis,
        long lastKernelArrivalMillis, long drops, boolean running, long updatedAtMillis) {
    /** File name at the buffer's root. */
    public static final String NAME = "capture-status.json";
    /** Older than this: the snoop is gone or stuck. */
    public static final long FRESH_MILLIS = 5_000;
    /** Idle this long (beyond libpcap's 100 ms read timeout): the kernel ring was empty. */
    public static final long IDLE_MILLIS = 500;

    /**
     * Whether everything captured up to {@code sinceMillis} has been decoded: a packet captured
     * at or after it was decoded (packets are decoded in order), or, written at or after it, the
     * capture had been idle long enough for the kernel ring to be empty: nothing delivered and
     * nothing arriving in the kernel for {@link #IDLE_MILLIS} (a stalled capture is not idle).
     */
    public boolean decodedEverythingUpTo(long sinceMillis) {
        return lastPacketMillis >= sinceMillis
                || updatedAtMillis >= sinceMillis && updatedAtMillis - lastDeliveryMillis >= IDLE_MILLIS
                && updatedAtMillis - lastKernelArrivalMillis >= IDLE_MILLIS;
    }

    public void write(Path bufferRoot) throws IOException {
        AdvisoryFiles.writeJson(bufferRoot, NAME, this);
    }

    /** The file of {@code bufferRoot}, or null when there is none. */
    public static CaptureStatusFile read(Path bufferRoot) throws IOException {
        return AdvisoryFiles.readJson(bufferRoot, NAME, CaptureStatusFile.class);
    }
}
