package io.tapline.snoop.capture;

import java.io.IOException;

/**
 * Live capture refused by the kernel: the process is neither root nor holds CAP_NET_RAW, which
 * the packet socket needs (promiscuous mode is set through packet membership and needs nothing
 * more; docs/packaging.md). Its message is one line that says how to grant it.
 */
public final class CapturePermissionException extends IOException {
    private static final long serialVersionUID = 1L;

    CapturePermissionException(String interfaceName, Throwable cause) {
        super("capture on " + interfaceName + ": permission denied (expected: root or CAP_NET_RAW, as the"
                + " tapline-snoop@ unit grants it, or: setcap cap_net_raw+eip $(readlink -f $(command -v java)));"
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
