package io.tapline.tools;

import com.sun.net.httpserver.HttpExchange;
import io.tapline.tools.cli.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The status page of a long-running process: {@code /} is a small self-refreshing HTML page,
 * {@code /status.json} the same report as {@code tapline status --json} for each section (the
 * source's buffer, the replayer's data), {@code /metrics} stays Prometheus. Read-only; built
 * from the same files the status command reads, so the page never says more than the command.
 *
 * <p>Thread-safe: each request builds its report afresh.
 */
final class StatusPage {
    private static final String PAGE = "status.html";

    /** How long a request waits for the sections to be read before it answers that they did not come. */
    static final long READ_WAIT_MILLIS = 3_000;

    private final Map<String, Callable<Map<String, Object>>> sections;
    private final String title;
    /** Reads the sections, one report at a time: a disk that stopped answering holds one thread, not one per request. */
    private final BoundedReader<Map<String, Object>> reader = new BoundedReader<>("status-page-read", this::report);

    private StatusPage(String title, Map<String, Callable<Map<String, Object>>> sections) {
        this.title = title;
        this.sections = sections;
    }

    /** Serves the page on {@code server} with {@code sections} (name to report, in order). */
    static void serve(MetricsServer server, String title, Map<String, Callable<Map<String, Object>>> sections) {
        StatusPage page = new StatusPage(title, new LinkedHashMap<>(sections));
        server.route("/status.json", page::json);
        server.route("/", page::html);
    }

    /** Every section's report; a section that cannot be read says why instead. */
    Map<String, Object> report() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("title", title);
        out.put("time", Instant.now().toString());
        Map<String, Object> parts = new LinkedHashMap<>();
        for (Map.Entry<String, Callable<Map<String, Object>>> e : sections.entrySet()) {
            try {
                parts.put(e.getKey(), e.getValue().call());
            } catch (Exception ex) {
                parts.put(e.getKey(), Map.of("error", String.valueOf(ex.getMessage())));
            }
        }
        out.put("sections", parts);
        return out;
    }

    private void json(HttpExchange exchange) throws IOException {
        Map<String, Object> report = boundedReport();
        send(exchange, report.containsKey("error") ? 503 : 200, "application/json; charset=utf-8",
                Json.write(report).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * {@link #report}, or, when it is not read within {@link #READ_WAIT_MILLIS} (the status files'
     * disk stopped answering), a report that says so: the page answers, and the metrics beside it
     * are not held up behind it (the HTTP server has one dispatcher thread).
     */
    Map<String, Object> boundedReport() {
        Map<String, Object> report = reader.getOrNull(READ_WAIT_MILLIS); // report() answers its sections' failures
        if (report != null) {
            return report;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("title", title);
        out.put("time", Instant.now().toString());
        out.put("error", "the status was not read within " + Math.max(READ_WAIT_MILLIS, reader.runningForMillis())
                + " ms: the disk of its files may have stopped answering (the metrics at /metrics are served from"
                + " memory: tapline_buffer_status_age_seconds)");
        return out;
    }

    private void html(HttpExchange exchange) throws IOException {
        if (!"/".equals(exchange.getRequestURI().getPath())) {
            send(exchange, 404, "text/plain; charset=utf-8", "not found\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        try (InputStream in = StatusPage.class.getResourceAsStream(PAGE)) {
            if (in == null) {
                throw new IOException("resource " + PAGE + " missing from the jar");
            }
            send(exchange, 200, "text/html; charset=utf-8", in.readAllBytes());
        }
    }

    private static void send(HttpExchange exchange, int code, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(code, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
