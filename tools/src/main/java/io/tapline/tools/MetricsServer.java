package io.tapline.tools;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Serves Prometheus metrics at {@code http://ADDRESS/metrics} (Micrometer's Prometheus registry
 * behind the JDK's HTTP server). Sources of metrics register meters in {@link #registry()}; those
 * whose set of meters grows at run time (new volumes) add a refresher that runs before each scrape.
 *
 * <p>Thread-safe. One daemon thread serves requests.
 */
final class MetricsServer implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final List<Consumer<PrometheusMeterRegistry>> refreshers = new CopyOnWriteArrayList<>();
    private final HttpServer http;

    private MetricsServer(HttpServer http) {
        this.http = http;
    }

    /** Starts serving on {@code address}. */
    static MetricsServer start(InetSocketAddress address) throws IOException {
        HttpServer http = HttpServer.create(address, 16);
        MetricsServer server = new MetricsServer(http);
        http.createContext("/metrics", exchange -> {
            for (Consumer<PrometheusMeterRegistry> r : server.refreshers) {
                r.accept(server.registry);
            }
            byte[] body = server.registry.scrape().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        http.start();
        return server;
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Runs {@code refresher} before every scrape (to register meters for newly seen volumes). */
    void onScrape(Consumer<PrometheusMeterRegistry> refresher) {
        refreshers.add(refresher);
    }

    InetSocketAddress address() {
        return http.getAddress();
    }

    @Override
    public void close() {
        http.stop(0);
        registry.close();
    }
}
