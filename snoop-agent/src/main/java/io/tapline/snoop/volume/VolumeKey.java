package io.tapline.snoop.volume;

import io.tapline.log.Bus;

/**
 * What identifies a volume on the wire: for iSCSI the target (its IQN from the login, or its
 * portal {@code host:port} when the login was not seen) and the LUN; for NBD the server's
 * {@code host:port} and the export name.
 *
 * <p>{@link #naturalKey()} is what {@code --volume-map} patterns match:
 * {@code iscsi:<target>/<lun>} or {@code nbd:<host:port>/<export>}.
 */
public record VolumeKey(Bus bus, String target, String unit) {
    public static VolumeKey iscsi(String target, int lun) {
        return new VolumeKey(Bus.ISCSI, target, Integer.toString(lun));
    }

    public static VolumeKey nbd(String server, String export) {
        return new VolumeKey(Bus.NBD, server, export);
    }

    /** {@code iscsi:<target>/<lun>} or {@code nbd:<host:port>/<export>}. */
    public String naturalKey() {
        return (bus == Bus.ISCSI ? "iscsi:" : "nbd:") + target + "/" + unit;
    }

    @Override
    public String toString() {
        return naturalKey();
    }
}
