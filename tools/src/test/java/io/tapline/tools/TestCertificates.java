package io.tapline.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A private CA and certificates made with the real {@code openssl} for the TLS tests: each
 * certificate names its holder (CN) and role (OU) and carries subjectAltName 127.0.0.1 and
 * localhost; keys are PKCS#8 PEM (what {@code openssl req -newkey} writes).
 */
final class TestCertificates {
    private static final Duration OPENSSL = Duration.ofSeconds(30);

    private final Path dir;
    private final String ca;

    private TestCertificates(Path dir, String ca) {
        this.dir = dir;
        this.ca = ca;
    }

    /** A new CA called {@code name} in {@code dir}. */
    static TestCertificates authority(Path dir, String name) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Peers.ok(OPENSSL, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", dir.resolve(name + ".key").toString(), "-out", dir.resolve(name + ".pem").toString(),
                "-days", "2", "-subj", "/CN=" + name);
        return new TestCertificates(dir, name);
    }

    /** The CA certificate (PEM). */
    Path caCertificate() {
        return dir.resolve(ca + ".pem");
    }

    /** Issues a certificate for {@code name} with role {@code unit}; returns its three TLS options. */
    String[] issue(String name, String unit) throws IOException, InterruptedException {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Path cert = dir.resolve(name + ".pem");
        Path ext = dir.resolve(name + ".ext");
        Files.writeString(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        Peers.ok(OPENSSL, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/OU=" + unit + "/CN=" + name);
        Peers.ok(OPENSSL, "openssl", "x509", "-req", "-in", csr.toString(), "-CA", caCertificate().toString(),
                "-CAkey", dir.resolve(ca + ".key").toString(), "-CAcreateserial", "-out", cert.toString(), "-days", "2",
                "-extfile", ext.toString());
        return new String[] {"--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca",
                caCertificate().toString()};
    }
}
