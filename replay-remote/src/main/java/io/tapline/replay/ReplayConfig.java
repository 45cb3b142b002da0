package io.tapline.replay;

import io.tapline.log.undo.UndoConfig;
import io.tapline.journey.JourneyProtocol;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a replayer listens and keeps its volumes. Immutable.
 *
 * @param listen        address to bind; port 0 picks an ephemeral port
 * @param dataDir       one sub-directory per volume, created when missing
 * @param credential    shared secret every HELLO must carry; empty accepts any HELLO
 * @param maxFrameBytes bound on a journey frame's length field; default 80 MiB
 * @param undo          undo (rollback) log sizing and retention of every volume
 * @param security      TLS, the non-loopback rule and the handshake deadline
 */
public record ReplayConfig(InetSocketAddress listen, Path dataDir, String credential, int maxFrameBytes,
        UndoConfig undo, LinkSecurity security) {

    public ReplayConfig {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(credential, "credential");
        Objects.requireNonNull(undo, "undo");
        Objects.requireNonNull(security, "security");
        if (maxFrameBytes < 1024) {
            throw new IllegalArgumentException("maxFrameBytes: " + maxFrameBytes + " (expected: >= 1024)");
        }
    }

    /** A configuration with the default undo retention. */
    public ReplayConfig(InetSocketAddress listen, Path dataDir, String credential, int maxFrameBytes) {
        this(listen, dataDir, credential, maxFrameBytes, UndoConfig.DEFAULT, LinkSecurity.LOOPBACK);
    }

    /** A replayer without credential check and with the default frame bound. */
    public static ReplayConfig of(InetSocketAddress listen, Path dataDir) {
        return new ReplayConfig(listen, dataDir, "", JourneyProtocol.DEFAULT_MAX_FRAME_BYTES);
    }

    public ReplayConfig withCredential(String secret) {
        return new ReplayConfig(listen, dataDir, secret, maxFrameBytes, undo, security);
    }

    public ReplayConfig withUndo(UndoConfig undoConfig) {
        return new ReplayConfig(listen, dataDir, credential, maxFrameBytes, undoConfig, security);
    }

    public ReplayConfig withSecurity(LinkSecurity linkSecurity) {
        return new ReplayConfig(listen, dataDir, credential, maxFrameBytes, undo, linkSecurity);
    }

    @Override
    public String toString() {
        return "ReplayConfig[listen=" + listen + ", dataDir=" + dataDir + ", credential="
                + (credential.isEmpty() ? "none" : "***") + ", maxFrameBytes=" + maxFrameBytes + ", undo=" + undo + ", tls="
                + (security.tls() == null ? "off" : security.tls().certificate()) + "]";
    }
}
