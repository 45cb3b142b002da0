package io.tapline.journey.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * TLS with mutual authentication for the journey link and the admin channel: this side's
 * certificate chain and PKCS#8 private key, and the CA that signs every peer (PEM files, as
 * {@code openssl} writes them). Both sides present a certificate; a client checks that the
 * replayer's certificate names the address it dialled (subjectAltName IP or DNS).
 *
 * <p>Immutable and thread-safe once loaded; {@link #load} reads and checks the files once.
 */
public final class TlsConfig {
    /** TLS versions offered: 1.3 only (every peer is Tapline on Java 17). */
    private static final String[] PROTOCOLS = {"TLSv1.3"};

    private final Path certificate;
    private final Path privateKey;
    private final Path trustedCa;
    private final PemMaterial material;
    private final SslContext server;
    private final SslContext client;

    private TlsConfig(Path certificate, Path privateKey, Path trustedCa, PemMaterial material) throws IOException {
        this.certificate = certificate;
        this.privateKey = privateKey;
        this.trustedCa = trustedCa;
        this.material = material;
        try {
            this.server = SslContextBuilder.forServer(material.keyManagers()).trustManager(material.trustManagers())
                    .clientAuth(ClientAuth.REQUIRE).protocols(PROTOCOLS).build();
            this.client = SslContextBuilder.forClient().keyManager(material.keyManagers())
                    .trustManager(material.trustManagers()).protocols(PROTOCOLS).build();
        } catch (IOException e) {
            throw new IOException("tls: " + e.getMessage() + " certificate=" + certificate, e);
        }
    }

    /**
     * Loads and checks the three files.
     *
     * @throws IOException naming the file and what is wrong with it (unreadable, not PEM, key
     *         not matching the certificate)
     */
    public static TlsConfig load(Path certificate, Path privateKey, Path trustedCa) throws IOException {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(trustedCa, "trustedCa");
        PemMaterial material = PemMaterial.load(certificate, privateKey, trustedCa);
        java.security.cert.X509Certificate own = material.chain()[0];
        try {
            own.checkValidity();
        } catch (java.security.cert.CertificateExpiredException e) {
            // Said here, naming the file: the handshake only said "Broken pipe" or "certificate_unknown".
            throw new IOException("certificate: " + certificate + " expired on " + own.getNotAfter().toInstant()
                    + " (expected: a certificate valid now: renew it)", e);
        } catch (java.security.cert.CertificateNotYetValidException e) {
            throw new IOException("certificate: " + certificate + " is not valid before " + own.getNotBefore().toInstant()
                    + " (expected: a certificate valid now: is this machine's clock right?)", e);
        }
        return new TlsConfig(certificate, privateKey, trustedCa, material);
    }

    /** The certificate file, for messages. */
    public Path certificate() {
        return certificate;
    }

    /** This side's identity, from its own certificate. */
    public PeerIdentity identity() {
        return PeerIdentity.of(material.chain()[0]);
    }

    /** A server-side context that requires a client certificate signed by the trusted CA. */
    public SslContext serverContext() {
        return server;
    }

    /** A server handler that gives up on a handshake slower than {@code handshakeTimeout}. */
    public SslHandler serverHandler(ByteBufAllocator alloc, Duration handshakeTimeout) {
        SslHandler h = server.newHandler(alloc);
        h.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
        return h;
    }

    /** A client-side context presenting this certificate and trusting only the CA. */
    public SslContext clientContext() {
        return client;
    }

    /**
     * A client handler for a connection to {@code remote}: checks the server's certificate
     * against the address (endpoint identification) and gives up on a handshake slower than
     * {@code handshakeTimeout}.
     */
    public SslHandler clientHandler(ByteBufAllocator alloc, InetSocketAddress remote, Duration handshakeTimeout) {
        SSLEngine engine = client.newEngine(alloc, remote.getHostString(), remote.getPort());
        SSLParameters p = engine.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(p);
        SslHandler h = new SslHandler(engine);
        h.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
        return h;
    }

    /** The trust managers that accept only certificates from the trusted CA. */
    public javax.net.ssl.TrustManager[] trustManagers() {
        return material.trustManagers().getTrustManagers();
    }

    /**
     * A JDK context with the same keys and trust, for blocking clients (the admin commands) and
     * for the HTTPS status page (whose server must also require client certificates:
     * {@code SSLParameters.setNeedClientAuth}).
     */
    public SSLContext jdkContext() throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(material.keyManagers().getKeyManagers(), material.trustManagers().getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("tls: " + e.getMessage() + " certificate=" + certificate, e);
        }
    }

    @Override
    public String toString() {
        return "TlsConfig[certificate=" + certificate + ", key=" + privateKey + ", ca=" + trustedCa + "]";
    }
}
