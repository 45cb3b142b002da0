package io.tapline.journey.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Who a TLS peer is: the common name (CN) of its certificate, which becomes the actor of its
 * audited commands, and its {@link PeerRole} from the certificate's OU.
 *
 * @param name the certificate's CN (its whole subject when it has none)
 * @param role the role its OU names
 * @param unit the certificate's OU as presented, or null when it has none (a refusal quotes it: an
 *             {@code OU=administrators} typo showed only as role "none")
 */
public record PeerIdentity(String name, PeerRole role, String unit) {

    /** The identity a certificate carries. */
    public static PeerIdentity of(X509Certificate certificate) {
        String subject = certificate.getSubjectX500Principal().getName();
        String cn = null;
        String ou = null;
        try {
            for (Rdn rdn : new LdapName(subject).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = String.valueOf(rdn.getValue());
                } else if (rdn.getType().equalsIgnoreCase("OU")) {
                    ou = String.valueOf(rdn.getValue());
                }
            }
        } catch (InvalidNameException e) {
            return new PeerIdentity(subject, PeerRole.NONE, null);
        }
        return new PeerIdentity(cn == null ? subject : cn, PeerRole.ofUnit(ou), ou);
    }

    /** The identity of an established session's peer, or null when it presented no certificate. */
    public static PeerIdentity of(SSLSession session) {
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? of(x) : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** "name (role certificate)", as an actor in the audit log. */
    public String actor() {
        return name + " (" + role.name().toLowerCase(java.util.Locale.ROOT) + " certificate)";
    }
}
