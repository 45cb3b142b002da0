package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The actor the audit log records: user@host, the host as the JDK names it, read without a lookup. */
class ActorTest {
    @Test
    void theHostIsTheNameTheJdkGives() throws Exception {
        assertEquals(InetAddress.getLocalHost().getHostName(), Actor.hostName());
        assertEquals(System.getProperty("user.name") + "@" + InetAddress.getLocalHost().getHostName(), Actor.current());
    }
}
