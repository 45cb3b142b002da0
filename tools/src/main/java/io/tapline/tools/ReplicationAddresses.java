package io.tapline.tools;

import java.net.InetSocketAddress;

/** Formats addresses the way operators type them. */
final class ReplicationAddresses {
    private ReplicationAddresses() {
    }

    static String hostPort(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
