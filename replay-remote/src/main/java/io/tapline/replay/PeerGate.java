package io.tapline.replay;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.tls.PeerIdentity;
import io.tapline.log.PrintableText;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Decides whether a connection's first message (HELLO or ADMIN_REQUEST) may go on, from its
 * TLS certificate's role, or, without TLS, from where it comes ({@link LinkSecurity}). With TLS
 * the actor of an administrator's command is the certificate's name, not what the client claims.
 *
 * <p>Stateless; called on the connection's event loop.
 */
final class PeerGate {
    private PeerGate() {
    }

    /** The first message as it may go on, or a refusal. */
    record Verdict(JourneyMessage message, String refusal, String actor) {
    }

    static Verdict check(ReplayConfig config, Channel channel, JourneyMessage first) {
        LinkSecurity security = config.security();
        InetSocketAddress remote = channel.remoteAddress() instanceof InetSocketAddress a ? a : null;
        if (security.tls() == null) {
            boolean admin = first instanceof JourneyMessage.AdminRequest;
            String expected = admin ? security.adminSecret(config.credential()) : config.credential();
            String problem = security.plainPeerProblem(remote, expected);
            if (problem == null) {
                problem = namesProblem(first); // before any message quotes them
            }
            if (problem == null) {
                problem = credentialProblem(security, first, expected);
            }
            String claimed = PrintableText.of(first instanceof JourneyMessage.AdminRequest r ? r.actor()
                    : first instanceof JourneyMessage.Hello h ? h.sourceId() : "?");
            return new Verdict(first, problem, claimed + " (claimed, from " + (remote == null ? "?" : remote.getHostString())
                    + ")");
        }
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        PeerIdentity peer = ssl == null ? null : PeerIdentity.of(ssl.engine().getSession());
        if (peer == null) {
            return new Verdict(first, "no client certificate (expected: one signed by the replayer's CA)", "?");
        }
        if (first instanceof JourneyMessage.Hello && !peer.role().mayShip()) {
            return new Verdict(first, "role: " + role(peer) + " (expected: source or administrator) for HELLO from "
                    + peer.name(), peer.actor());
        }
        if (first instanceof JourneyMessage.AdminRequest r) {
            if (!peer.role().mayAdminister()) {
                return new Verdict(first, "role: " + role(peer) + " (expected: administrator) for " + action(r.action())
                        + " of volume " + r.volumeId() + " by " + peer.name(), peer.actor());
            }
            return new Verdict(new JourneyMessage.AdminRequest(r.credential(), peer.actor(), r.volumeId(), r.action(),
                    r.targetKind(), r.value(), r.markName()), null, peer.actor());
        }
        return new Verdict(first, null, peer.actor());
    }

    /**
     * Without TLS the credential is what admits a peer: a wrong one is a refused peer like a wrong
     * certificate (logged, audited, counted), not a session refused later (security.md: "every refusal").
     */
    private static String credentialProblem(LinkSecurity security, JourneyMessage first, String expected) {
        String given = first instanceof JourneyMessage.AdminRequest r ? r.credential()
                : first instanceof JourneyMessage.Hello h ? h.credential() : "";
        if (expected.isEmpty() || MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                given.getBytes(StandardCharsets.UTF_8))) {
            return null;
        }
        String volume = first instanceof JourneyMessage.AdminRequest r ? r.volumeId()
                : first instanceof JourneyMessage.Hello h ? h.volumeId() : "?";
        return "bad credential for volume " + volume + (first instanceof JourneyMessage.AdminRequest
                && !security.adminCredential().isEmpty() ? " (expected: the administrators' credential)" : "");
    }

    /** Why the names the first message carries cannot be logged or stored as they are, or null. */
    private static String namesProblem(JourneyMessage first) {
        if (first instanceof JourneyMessage.Hello h && h.protocolVersion() >= 2 && !h.volumeId().isEmpty()) {
            String id = VolumeIds.problem(h.volumeId());
            String source = VolumeIds.nameProblem("sourceId", h.sourceId());
            return id != null ? "bad volume id: " + id : source != null ? "bad source id: " + source : null;
        }
        if (first instanceof JourneyMessage.AdminRequest r) {
            String id = VolumeIds.problem(r.volumeId());
            String actor = VolumeIds.nameProblem("actor", r.actor());
            return id != null ? "bad volume id: " + id : actor != null ? "bad actor: " + actor : null;
        }
        return null;
    }

    /** The peer's role, and for a certificate of no known role the OU it presented (probe X D6). */
    private static String role(PeerIdentity peer) {
        String role = peer.role().name().toLowerCase(java.util.Locale.ROOT);
        if (peer.role() != io.tapline.journey.tls.PeerRole.NONE) {
            return role;
        }
        return role + (peer.unit() == null ? " (the certificate has no OU)"
                : " (its OU \"" + PrintableText.of(peer.unit()) + "\" names no role: source, administrator or auditor)");
    }

    static String action(int action) {
        return switch (action) {
            case JourneyMessage.AdminRequest.ROLLBACK -> "ROLLBACK";
            case JourneyMessage.AdminRequest.RESUME -> "RESUME";
            case JourneyMessage.AdminRequest.PROMOTE -> "PROMOTE";
            case JourneyMessage.AdminRequest.DEMOTE -> "DEMOTE";
            default -> "action " + action;
        };
    }
}
