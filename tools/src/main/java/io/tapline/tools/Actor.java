package io.tapline.tools;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/** Who runs an administrator's or operator's command, as the audit log and pause files record it. */
final class Actor {
    private Actor() {
    }

    /** The kernel's name for this host (Linux); elsewhere the JDK's. */
    static final Path KERNEL_HOSTNAME = Path.of("/proc/sys/kernel/hostname");

    /**
     * {@code user@host} of this process. The host is the kernel's host name, as
     * {@code InetAddress.getLocalHost().getHostName()} gives it, read without that call's lookup of
     * the name's address, which fails a command on a host whose name does not resolve and costs
     * each start several milliseconds where it does.
     */
    static String current() throws IOException {
        return System.getProperty("user.name") + "@" + hostName();
    }

    static String hostName() throws IOException {
        try {
            String name = Files.readString(KERNEL_HOSTNAME).trim();
            if (!name.isEmpty()) {
                return name;
            }
        } catch (IOException | UnsupportedOperationException notLinux) {
            // the JDK's answer below
        }
        return InetAddress.getLocalHost().getHostName();
    }
}
