package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.journey.source.SourceLink;
import io.tapline.journey.source.SourceSide;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.replay.VolumeStatus;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka path has the link and replay meters the runbook's alerts read ({@code tapline_link_*},
 * {@code tapline_replay_*}), read back as Prometheus scrapes them (probe D2: it had none).
 */
class KafkaPathMetricsTest {
    private static final String KAFKA = "kafka://b1:9092/tapline.vol1";

    @TempDir
    Path dir;

    @Test
    void aKafkaLinkHasTheLinkMetersLabelledWithItsAddress() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (SourceSide side = SourceSide.open(dir.resolve("vol1"), "vol1", BufferConfig.DEFAULT)) {
            side.addLink(new SourceLink() {
                @Override
                public ShipperStatus status() {
                    return new ShipperStatus("kafka", KAFKA, false, 42, 40, 3, "kafka topic refused",
                            new ReplicaStateReport(ReplicaStateReport.CONSISTENT, 40, 40, 0, "topic"));
                }

                @Override
                public void onChange(Runnable listener) {
                }

                @Override
                public void close() {
                }
            });
            SourceMetrics.bind(registry, side);
            String scrape = registry.scrape();
            String labels = "{remote=\"" + KAFKA + "\",volume=\"vol1\"}";
            assertTrue(scrape.contains("tapline_link_connected" + labels + " 0.0"), scrape);
            assertTrue(scrape.contains("tapline_link_sent_sequence" + labels + " 42.0"), scrape);
            assertTrue(scrape.contains("tapline_link_acked_sequence" + labels + " 40.0"), scrape);
            assertTrue(scrape.contains("tapline_link_reconnects_total" + labels + " 3.0"), scrape);
        }
    }

    @Test
    void aKafkaReplayersReplicasHaveTheReplayMetersLabelledWithItsSite() throws Exception {
        VolumeStatus stopped = new VolumeStatus("vol1", 100, true, 409_600, true, ReplicaStateReport.FAILED, 100,
                "kafka topic t offset 100: record of capture buffer 5eed");
        try (MetricsServer metrics = MetricsServer.start(new InetSocketAddress("127.0.0.1", 0))) {
            ReplayMetrics.bindKafka(metrics, "dr-east", () -> List.of("vol1"),
                    v -> v.equals("vol1") ? Optional.of(stopped) : Optional.empty());
            String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + metrics.address().getPort() + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            String labels = "{site=\"dr-east\",volume=\"vol1\"}";
            assertTrue(scrape.contains("tapline_replay_applied_sequence" + labels + " 100.0"), scrape);
            assertTrue(scrape.contains("tapline_replay_out_of_sync" + labels + " 1.0"), scrape);
            assertTrue(scrape.contains("tapline_replay_failed" + labels + " 1.0"), scrape);
            assertTrue(scrape.contains("tapline_replay_consistent_sequence" + labels + " 100.0"), scrape);
            assertTrue(scrape.contains("tapline_replay_session_connected" + labels + " 1.0"), scrape);
            assertTrue(scrape.contains("tapline_replay_applied_bytes_total" + labels + " 409600.0"), scrape);
        }
    }
}
