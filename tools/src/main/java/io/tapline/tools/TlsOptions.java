package io.tapline.tools;

import io.tapline.journey.tls.TlsConfig;
import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Option;

/**
 * TLS with mutual authentication for the journey link and the admin channel (a picocli mixin):
 * this node's certificate and PKCS#8 key, and the CA every peer's certificate must chain to.
 * All three or none; none is plain TCP, which a replayer accepts only from loopback peers unless
 * it runs with {@code --insecure}.
 */
final class TlsOptions {
    @Option(names = "--tls-cert", paramLabel = "PEM",
            description = "This node's certificate (PEM; its CN names the actor, its OU the role: source, administrator or auditor).")
    Path certificate;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "This node's private key (PKCS#8 PEM).")
    Path key;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "The CA that signs every peer's certificate (PEM).")
    Path ca;

    private TlsConfig loaded;

    /** The loaded configuration, or null for plain TCP; a partial set or a bad file exits 2 with one line. */
    TlsConfig config() {
        if (loaded != null) {
            return loaded;
        }
        int given = (certificate != null ? 1 : 0) + (key != null ? 1 : 0) + (ca != null ? 1 : 0);
        if (given == 0) {
            return null;
        }
        if (given != 3) {
            throw new CliFailure("--tls-cert, --tls-key, --tls-ca: " + given + " given (expected: all three, or none)", 2);
        }
        try {
            loaded = TlsConfig.load(certificate, key, ca);
            return loaded;
        } catch (IOException e) {
            throw new CliFailure(e.getMessage(), 2);
        }
    }

    /** A JDK context for the blocking admin client, or null for plain TCP. */
    SSLContext jdkContext() throws IOException {
        TlsConfig c = config();
        return c == null ? null : c.jdkContext();
    }
}
