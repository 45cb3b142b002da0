package io.tapline.replay;

import io.tapline.journey.tls.TlsConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * Who may talk to a replayer, and how fast they must say who they are.
 *
 * <p>Secure by default: with {@code tls}, every peer must present a certificate signed by the
 * trusted CA, and its OU names what it may do ({@link io.tapline.journey.tls.PeerRole}). Without
 * TLS, loopback peers are trusted as before (root on the host can read the replica anyway), a
 * peer elsewhere must carry the credential, and listening on a non-loopback address at all
 * needs {@code insecure} (the credential crosses the network in clear text).
 *
 * @param tls              TLS with mutual authentication; null for plain TCP
 * @param insecure         allow a non-loopback listen address without TLS (warned at start)
 * @param handshakeTimeout a connection that has not completed its TLS handshake and sent HELLO or
 *                         ADMIN_REQUEST by then is closed; a source silent for three times as
 *                         long is closed too (sources say SourceHead every second)
 * @param adminCredential  without TLS, the administrators' own secret: when set, an
 *                         ADMIN_REQUEST must carry it (the sources' credential no longer does);
 *                         empty: the one credential serves both roles
 */
public record LinkSecurity(TlsConfig tls, boolean insecure, Duration handshakeTimeout, String adminCredential) {
    /** No TLS, loopback only, 10 s to say HELLO. */
    public static final LinkSecurity LOOPBACK = new LinkSecurity(null, false, Duration.ofSeconds(10));

    /** Without a separate administrators' credential. */
    public LinkSecurity(TlsConfig tls, boolean insecure, Duration handshakeTimeout) {
        this(tls, insecure, handshakeTimeout, "");
    }

    public LinkSecurity {
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        Objects.requireNonNull(adminCredential, "adminCredential");
        if (handshakeTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            // Sources speak once a second and are silent past three deadlines: under a second cut every live one.
            throw new IllegalArgumentException("handshakeTimeout: " + handshakeTimeout + " (expected: at least 1 s;"
                    + " a source that has said nothing for three of them is closed, and sources speak every second)");
        }
    }

    /** Whether {@code address} is a loopback address (127.0.0.0/8, ::1). */
    static boolean loopback(InetAddress address) {
        return address != null && address.isLoopbackAddress();
    }

    /**
     * Why the replayer must not listen on {@code listen} with these settings, or null: a
     * non-loopback address (including the wildcard) without TLS needs {@code insecure}.
     */
    String listenProblem(InetSocketAddress listen) {
        if (tls != null || insecure || loopback(listen.getAddress())) {
            return null;
        }
        return "listen: " + listen.getHostString() + ":" + listen.getPort() + " is not a loopback address (expected:"
                + " --tls-cert/--tls-key/--tls-ca so peers authenticate, or --insecure to accept unauthenticated"
                + " peers and clear-text credentials on the network)";
    }

    /** The secret an ADMIN_REQUEST must carry without TLS: the administrators' own, or else the credential. */
    String adminSecret(String credential) {
        return adminCredential.isEmpty() ? credential : adminCredential;
    }

    /**
     * Why a peer without TLS at {@code peer} may not go on, or null: a non-loopback peer needs
     * the credential (checked by the session) unless the replayer runs {@code insecure}.
     */
    String plainPeerProblem(InetSocketAddress peer, String credential) {
        if (tls != null || insecure || !credential.isEmpty() || (peer != null && loopback(peer.getAddress()))) {
            return null;
        }
        return "unauthenticated peer " + (peer == null ? "?" : peer.getHostString()) + " (expected: a TLS client"
                + " certificate, or the replayer's credential; or start the replayer with --insecure)";
    }
}
