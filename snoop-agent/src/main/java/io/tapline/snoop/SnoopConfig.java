package io.tapline.snoop;

import java.util.Set;

/**
 * Decoder settings of one capture.
 *
 * @param iscsiPorts          server ports taken as iSCSI when a connection is joined mid-stream (default 3260)
 * @param nbdPorts            server ports taken as NBD when a connection is joined mid-stream (default 10809)
 * @param blockSizeBytes      logical block size of iSCSI LUNs until a READ CAPACITY answer is seen (default 512)
 * @param maxPendingBytes     out-of-order bytes held per TCP direction before the oldest hole becomes a gap (default 32 MiB)
 */
public record SnoopConfig(Set<Integer> iscsiPorts, Set<Integer> nbdPorts, int blockSizeBytes, long maxPendingBytes) {
    public static final SnoopConfig DEFAULT = new SnoopConfig(Set.of(3260), Set.of(10809), 512, 32L << 20);

    public SnoopConfig withBlockSize(int bytes) {
        return new SnoopConfig(iscsiPorts, nbdPorts, bytes, maxPendingBytes);
    }
}
