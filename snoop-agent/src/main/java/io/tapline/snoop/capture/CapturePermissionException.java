package io.tapline.snoop.capture;

import java.io.IOException;

/**
 * Live capture refused by the kernel: the process is neither root nor holds the capabilities
 * libpcap needs (CAP_NET_RAW to open the packet socket, CAP_NET_ADMIN for promiscuous mode).
 * Its message is one line that says how to grant them.
 */
public final class CapturePermissionException extends IOException {
    private static final long serialVersionUID = 1L;

    CapturePermissionException(String interfaceName, Throwable cause) {
        super("capture on " + interfaceName + ": permission denied (expected: run as root, or grant the JVM"
                + " cap_net_raw,cap_net_admin, e.g. setcap cap_net_raw,cap_net_admin+eip $(readlink -f $(command -v java)));"
                + " libpcap said: " + cause.getMessage(), cause);
    }

    /** Whether a libpcap error message is the kernel's EPERM/EACCES on the capture socket. */
    static boolean isPermissionError(String message) {
        if (message == null) {
            return false;
        }
        String m = message.toLowerCase(java.util.Locale.ROOT);
        return m.contains("operation not permitted") || m.contains("permission denied")
                || m.contains("don't have permission");
    }
}
