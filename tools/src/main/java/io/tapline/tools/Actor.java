package io.tapline.tools;

import java.io.IOException;
import java.net.InetAddress;

/** Who runs an administrator's or operator's command, as the audit log and pause files record it. */
final class Actor {
    private Actor() {
    }

    /** {@code user@host} of this process. */
    static String current() throws IOException {
        return System.getProperty("user.name") + "@" + InetAddress.getLocalHost().getHostName();
    }
}
