package io.tapline.journey.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

/** Certificates and a private key read from PEM files, as key and trust managers. */
record PemMaterial(X509Certificate[] chain, KeyManagerFactory keyManagers, TrustManagerFactory trustManagers) {
    private static final String KEY_BEGIN = "-----BEGIN PRIVATE KEY-----";
    private static final String KEY_END = "-----END PRIVATE KEY-----";

    static PemMaterial load(Path certificate, Path privateKey, Path trustedCa) throws IOException {
        X509Certificate[] chain = certificates(certificate);
        PrivateKey key = privateKey(privateKey, chain[0]);
        X509Certificate[] cas = certificates(trustedCa);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            char[] none = new char[0];
            ks.setKeyEntry("tapline", key, none, chain);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, none);
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            for (int i = 0; i < cas.length; i++) {
                ts.setCertificateEntry("ca" + i, cas[i]);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ts);
            return new PemMaterial(chain, kmf, tmf);
        } catch (GeneralSecurityException e) {
            throw new IOException("tls: " + e.getMessage() + " certificate=" + certificate, e);
        }
    }

    private static byte[] read(Path file, String what) throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(what + ": no such file: " + file, e);
        } catch (AccessDeniedException e) {
            throw new IOException(what + ": permission denied: " + file, e);
        }
    }

    private static X509Certificate[] certificates(Path file) throws IOException {
        byte[] bytes = read(file, "tls certificate");
        try {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(bytes));
            if (certs.isEmpty()) {
                throw new IOException("tls certificate: " + file + " holds no certificate (expected: PEM"
                        + " -----BEGIN CERTIFICATE-----)");
            }
            return certs.stream().map(c -> (X509Certificate) c).toArray(X509Certificate[]::new);
        } catch (CertificateException e) {
            throw new IOException("tls certificate: " + file + " is not a PEM X.509 certificate (" + e.getMessage()
                    + ")", e);
        }
    }

    private static PrivateKey privateKey(Path file, X509Certificate leaf) throws IOException {
        String text = new String(read(file, "tls key"), StandardCharsets.US_ASCII);
        int begin = text.indexOf(KEY_BEGIN);
        int end = text.indexOf(KEY_END);
        if (begin < 0 || end < begin) {
            throw new IOException("tls key: " + file + " is not a PKCS#8 PEM private key (expected: " + KEY_BEGIN
                    + "; convert with: openssl pkcs8 -topk8 -nocrypt -in " + file + ")");
        }
        byte[] der = Base64.getMimeDecoder().decode(text.substring(begin + KEY_BEGIN.length(), end));
        String algorithm = leaf.getPublicKey() instanceof RSAPublicKey ? "RSA"
                : leaf.getPublicKey() instanceof ECPublicKey ? "EC" : leaf.getPublicKey().getAlgorithm();
        try {
            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (InvalidKeySpecException e) {
            throw new IOException("tls key: " + file + " is not a " + algorithm + " key matching the certificate ("
                    + e.getMessage() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new IOException("tls key: " + file + ": " + e.getMessage(), e);
        }
    }
}
