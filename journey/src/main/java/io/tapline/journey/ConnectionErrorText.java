package io.tapline.journey;

import io.netty.channel.unix.Errors;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;

/**
 * A journey connection's I/O failure in an operator's words. Netty's native transport reports the
 * kernel's errno as {@code recvAddress(..) failed with error(-110): Connection timed out} and a write
 * on a closed channel as {@code io.netty.channel.StacklessClosedChannelException}: texts the runbook
 * cannot list and an operator cannot act on (probe AA D5). Each known cause is said as what it means
 * on the link, with the kernel's own short text after it in parentheses, so that a search for that
 * text still finds the line; anything else keeps its own message.
 */
public final class ConnectionErrorText {

    private ConnectionErrorText() {
    }

    /**
     * Describes {@code cause}, an error of a connection to {@code peer} (e.g. "the replayer",
     * "the source"), in one line.
     */
    public static String describe(Throwable cause, String peer) {
        String known = describeKnown(cause, peer);
        if (known != null) {
            return known;
        }
        String message = cause.getMessage();
        return message == null || message.isBlank() ? cause.toString() : message;
    }

    /** The words for {@code cause} when it is a failure this class knows; null otherwise. */
    public static String describeKnown(Throwable cause, String peer) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof ClosedChannelException) {
                return "the connection was already closed when data was sent on it (" + peer
                        + " or the network ended it first)";
            }
            String kernel = kernelText(t);
            String meaning = meaning(kernel, peer);
            if (meaning != null) {
                return meaning + " (" + kernel + ")";
            }
        }
        return null;
    }

    /** The kernel's short text of an errno-carrying exception, e.g. "Connection timed out"; else its message. */
    private static String kernelText(Throwable t) {
        String message = t.getMessage();
        if (message == null) {
            return "";
        }
        if (t instanceof Errors.NativeIoException) {
            int colon = message.lastIndexOf("): ");
            if (colon >= 0) {
                return message.substring(colon + 3);
            }
        }
        return message;
    }

    private static String meaning(String kernelText, String peer) {
        String k = kernelText.toLowerCase(Locale.ROOT);
        if (k.contains("connection timed out")) {
            return "the connection timed out: " + peer + " stopped acknowledging what was sent (the path"
                    + " toward it drops packets, or its host is gone)";
        }
        if (k.contains("connection reset by peer")) {
            return "the connection was reset: " + peer + "'s end was closed abruptly (it restarted or"
                    + " crashed, or a firewall or NAT on the path dropped the connection)";
        }
        if (k.contains("broken pipe")) {
            return "the connection was closed by " + peer + "'s end while data was being sent";
        }
        if (k.contains("connection refused")) {
            return "connection refused: nothing listens at that address and port";
        }
        if (k.contains("no route to host") || k.contains("network is unreachable")) {
            return "no route to host: the address is unreachable from here";
        }
        return null;
    }
}
