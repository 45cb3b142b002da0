package io.tapline.tools.cli;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parses {@code HOST:PORT} (or {@code [IPv6]:PORT}) into a resolved socket address, with one
 * clear line when it is not one.
 */
public final class SocketAddressConverter implements ITypeConverter<InetSocketAddress> {
    @Override
    public InetSocketAddress convert(String value) {
        return parse(value);
    }

    /**
     * A peer to connect to ({@code --remote}): port 0, which a listener may take to mean "any",
     * names no peer and is refused.
     */
    public static final class Peer implements ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            InetSocketAddress a = parse(value);
            if (a.getPort() == 0) {
                throw new TypeConversionException("port: 0 in '" + value + "' (expected: the peer's port, 1..65535)");
            }
            return a;
        }
    }

    /** Parses {@code value}; throws {@link TypeConversionException} with the reason. */
    public static InetSocketAddress parse(String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new TypeConversionException("address: '" + value + "' (expected: HOST:PORT, e.g. 127.0.0.1:7070)");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new TypeConversionException("port: '" + value.substring(colon + 1) + "' (expected: 0..65535)");
        }
        if (port < 0 || port > 65535) {
            throw new TypeConversionException("port: " + port + " (expected: 0..65535)");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new TypeConversionException("host: '" + host + "' (expected: an IP address or a resolvable name)");
        }
    }
}
