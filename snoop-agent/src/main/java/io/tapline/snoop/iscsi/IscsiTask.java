package io.tapline.snoop.iscsi;

import io.tapline.snoop.volume.VolumeKey;

/**
 * One outstanding SCSI command of a connection (RFC 7143 §3.2.2: task, identified by its ITT),
 * with the Data-Out bytes collected for it so far (immediate, unsolicited and R2T-solicited,
 * placed by their Buffer Offset, §11.7.6).
 */
final class IscsiTask {
    /** Largest data buffer collected for one command; bigger transfers become GAPs. */
    static final long MAX_COLLECTED_BYTES = 256L << 20;

    final int itt;
    final int cmdSn;
    final VolumeKey volume;
    final ScsiCommand command;
    final long expectedBytes;
    final byte[] data;
    long receivedBytes;
    boolean overflow;
    /** Its {@link io.tapline.snoop.volume.ConcurrentOverlaps} ticket (write-nature commands), else 0. */
    long overlapTicket;

    /**
     * @param buffers where the data array comes from (recycled: its old bytes count for nothing
     *                until received)
     */
    IscsiTask(int itt, int cmdSn, VolumeKey volume, ScsiCommand command, long expectedBytes, boolean collect,
            DataBuffers buffers) {
        this.itt = itt;
        this.cmdSn = cmdSn;
        this.volume = volume;
        this.command = command;
        this.expectedBytes = expectedBytes;
        boolean fits = collect && expectedBytes <= MAX_COLLECTED_BYTES;
        this.data = fits ? buffers.take((int) expectedBytes) : null;
        this.overflow = collect && !fits;
    }

    /** Whether {@code length} bytes at {@code bufferOffset} fit the data array (a PDU may be placed there). */
    boolean fits(long bufferOffset, int length) {
        return data != null && bufferOffset >= 0 && bufferOffset + length <= data.length;
    }

    /** Counts {@code length} bytes the decoder placed straight into {@link #data}. */
    void placed(int length) {
        receivedBytes += length;
    }

    /** Places {@code bytes} at {@code bufferOffset}; out-of-range data marks the task incomplete. */
    void put(long bufferOffset, byte[] bytes) {
        if (data == null || bufferOffset < 0 || bufferOffset + bytes.length > data.length) {
            overflow = true;
            return;
        }
        System.arraycopy(bytes, 0, data, (int) bufferOffset, bytes.length);
        receivedBytes += bytes.length;
    }

    /** Whether every expected byte arrived (sum of PDU lengths; duplicates would overcount, so overflow also counts). */
    boolean complete() {
        return !overflow && data != null && receivedBytes == expectedBytes;
    }
}
