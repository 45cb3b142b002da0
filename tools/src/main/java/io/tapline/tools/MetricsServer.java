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
        return start(address, null);
    }

    /**
     * Starts serving on {@code address}; with {@code tls}, HTTPS that requires a client
     * certificate signed by the same CA (the journey link's authentication: any role may read).
     */
    static MetricsServer start(InetSocketAddress address, io.tapline.journey.tls.TlsConfig tls) throws IOException {
        HttpServer http;
        if (tls == null) {
            http = HttpServer.create(address, 16);
        } else {
            com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(address, 16);
            javax.net.ssl.SSLContext context = tls.jdkContext();
            https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(context) {
                @Override
                public void configure(com.sun.net.httpserver.HttpsParameters params) {
                    javax.net.ssl.SSLParameters p = context.getDefaultSSLParameters();
                    p.setNeedClientAuth(true);
                    params.setSSLParameters(p);
                }
            });
            http = https;
        }
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
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(server.registry);
        new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(server.registry);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(server.registry);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(server.registry);
        new io.micrometer.core.instrument.binder.system.UptimeMetrics().bindTo(server.registry);
        // An info metric (value 1, labels say which build): exposed as tapline_build_info.
        io.prometheus.metrics.core.metrics.Info.builder().name("tapline_build")
                .help("The running build (value 1; labels say which)").labelNames("version", "commit")
                .register(server.registry.getPrometheusRegistry())
                .addLabelValues(buildVersion(), System.getProperty("tapline.commit", ""));
        http.start();
        return server;
    }

    /** The version the build wrote into {@code tapline-build.properties}, or "dev". */
    private static String buildVersion() {
        try {
            return TaplineCli.Version.buildProperties().getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Serves {@code path} (and everything below it) with {@code handler}. */
    void route(String path, com.sun.net.httpserver.HttpHandler handler) {
        http.createContext(path, handler);
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
