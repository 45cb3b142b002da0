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
 * <p>Requests are served on a pool of {@link #THREADS} daemon threads, and a request not read
 * within {@link #MAX_REQUEST_SECONDS} (or a reply not taken within {@link #MAX_REPLY_SECONDS})
 * has its connection closed: with the JDK's default, the server's one thread read each request
 * itself, so one half-sent request (a stuck scrape, a port scanner, five bytes of a TLS record)
 * stopped the page and {@code /metrics} for everyone until it closed (probe J D7). Only GET and HEAD
 * (headers alone) are served: other methods get 405, and only at the exact paths routed (404 otherwise).
 *
 * <p>Thread-safe.
 */
final class MetricsServer implements AutoCloseable {
    /** Threads serving requests: a few stuck clients cannot hold all of them for longer than the deadlines. */
    static final int THREADS = 8;
    /** Seconds a client has to send its whole request (the JDK server's {@code sun.net.httpserver.maxReqTime}). */
    static final long MAX_REQUEST_SECONDS = 10;
    /** Seconds a client has to take a reply ({@code sun.net.httpserver.maxRspTime}). */
    static final long MAX_REPLY_SECONDS = 30;

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
        // Read once, when the JDK's server configuration class loads (the first server of the process).
        System.setProperty("sun.net.httpserver.maxReqTime", System.getProperty("sun.net.httpserver.maxReqTime",
                Long.toString(MAX_REQUEST_SECONDS)));
        System.setProperty("sun.net.httpserver.maxRspTime", System.getProperty("sun.net.httpserver.maxRspTime",
                Long.toString(MAX_REPLY_SECONDS)));
        HttpServer http;
        try {
            http = tls == null ? HttpServer.create(address, 16) : com.sun.net.httpserver.HttpsServer.create(address, 16);
        } catch (java.net.BindException e) { // a process runs --nbd, --listen and --http: say which one
            throw new IOException("--http " + address.getHostString() + ":" + address.getPort() + ": " + e.getMessage()
                    + " (another process serves that port?)", e);
        }
        if (tls != null) {
            com.sun.net.httpserver.HttpsServer https = (com.sun.net.httpserver.HttpsServer) http;
            javax.net.ssl.SSLContext context = tls.jdkContext();
            https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(context) {
                @Override
                public void configure(com.sun.net.httpserver.HttpsParameters params) {
                    javax.net.ssl.SSLParameters p = context.getDefaultSSLParameters();
                    p.setNeedClientAuth(true);
                    params.setSSLParameters(p);
                }
            });
        }
        java.util.concurrent.atomic.AtomicInteger threads = new java.util.concurrent.atomic.AtomicInteger();
        http.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "tapline-http-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        }));
        MetricsServer server = new MetricsServer(http);
        server.route("/metrics", exchange -> {
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

    /** Serves GET (and HEAD) of exactly {@code path} with {@code handler} (a path below it is 404, another method 405). */
    void route(String path, com.sun.net.httpserver.HttpHandler handler) {
        http.createContext(path, exchange -> {
            try (exchange) {
                String method = exchange.getRequestMethod();
                if (!method.equals("GET") && !method.equals("HEAD")) {
                    exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                    exchange.sendResponseHeaders(405, -1);
                } else if (!exchange.getRequestURI().getPath().equals(path)) {
                    exchange.sendResponseHeaders(404, -1);
                } else if (method.equals("HEAD")) {
                    exchange.sendResponseHeaders(200, -1); // health checks (curl -I): the page is there, no body
                } else {
                    handler.handle(exchange);
                }
            }
        });
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
