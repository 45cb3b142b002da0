package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The plain-TCP rules: loopback trusted, others need the credential or --insecure. */
class LinkSecurityTest {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 7000);
    private static final InetSocketAddress ELSEWHERE = new InetSocketAddress("10.0.0.5", 7000);
    private static final InetSocketAddress WILDCARD = new InetSocketAddress("0.0.0.0", 7000);

    @Test
    void loopbackIsTrustedAsBefore() {
        assertNull(LinkSecurity.LOOPBACK.listenProblem(LOOPBACK));
        assertNull(LinkSecurity.LOOPBACK.plainPeerProblem(LOOPBACK, ""));
    }

    @Test
    void aPeerElsewhereNeedsTheCredentialOrInsecure() {
        assertTrue(LinkSecurity.LOOPBACK.plainPeerProblem(ELSEWHERE, "").startsWith("unauthenticated peer 10.0.0.5"));
        assertNull(LinkSecurity.LOOPBACK.plainPeerProblem(ELSEWHERE, "s3cret"));
        assertNull(new LinkSecurity(null, true, Duration.ofSeconds(10)).plainPeerProblem(ELSEWHERE, ""));
    }

    @Test
    void listeningBeyondLoopbackWithoutTlsNeedsInsecure() {
        assertTrue(LinkSecurity.LOOPBACK.listenProblem(WILDCARD).contains("is not a loopback address"));
        assertTrue(LinkSecurity.LOOPBACK.listenProblem(ELSEWHERE).contains("is not a loopback address"));
        assertNull(new LinkSecurity(null, true, Duration.ofSeconds(10)).listenProblem(WILDCARD));
    }
}
