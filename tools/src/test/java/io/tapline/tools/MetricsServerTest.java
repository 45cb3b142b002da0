package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MetricsServerTest {
    private static int status(HttpClient client, String method, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    /** One half-sent request stopped the page for everyone (probe J D7); other methods and paths below were served. */
    @Test
    void aHalfSentRequestDoesNotStopThePageAndOnlyGetOfTheExactPathIsServed() throws Exception {
        try (MetricsServer server = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0));
                Socket stuck = new Socket()) {
            String base = "http://127.0.0.1:" + server.address().getPort();
            stuck.connect(server.address());
            stuck.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            stuck.getOutputStream().flush();
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertEquals(200, status(client, "GET", base + "/metrics"), "served while another request is half-sent");
            assertEquals(200, status(client, "HEAD", base + "/metrics"), "health checks use HEAD");
            assertEquals(405, status(client, "POST", base + "/metrics"));
            assertEquals(405, status(client, "DELETE", base + "/metrics"));
            assertEquals(404, status(client, "GET", base + "/metrics/anything"));
        }
    }

    @Test
    void aPortInUseIsNamedWithItsOption() throws Exception {
        try (MetricsServer first = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0))) {
            java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> MetricsServer.start(first.address()));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().startsWith("--http 127.0.0.1:"
                    + first.address().getPort() + ": "), e.getMessage());
        }
    }
}
