package io.tapline.tools;

import io.tapline.log.buffer.BufferConfig;
import io.tapline.replay.ReplayServer;
import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.Json;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import io.tapline.tools.cli.CliFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code tapline quickstart}: the embedded default. A replayer and a wedge in one process on
 * loopback, every file under one folder, ready for an NBD client.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Runs a local replayer plus a wedge on loopback, files under one folder, and prints what to connect.")
final class QuickstartCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "tapline-data", description = "Folder for every file (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--size", paramLabel = "SIZE", converter = ByteSizeConverter.class, defaultValue = "1G",
            description = "Size of the volume (default: ${DEFAULT-VALUE}).")
    long size;

    @Option(names = "--nbd", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:10809", description = "NBD address (default: ${DEFAULT-VALUE}).")
    InetSocketAddress nbd;

    @Option(names = "--link", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7070",
            description = "Journey link address of the embedded replayer (default: ${DEFAULT-VALUE}).")
    InetSocketAddress link;

    @Option(names = "--export", paramLabel = "NAME", defaultValue = "vol1", description = "Export / volume name (default: ${DEFAULT-VALUE}).")
    String export;

    @Option(names = {"--http", "--metrics"}, paramLabel = "HOST:PORT",
            description = "Serve a status page at http://HOST:PORT/ (refreshes itself), its JSON at /status.json and"
                    + " Prometheus metrics at /metrics.")
    InetSocketAddress metrics;

    @Option(names = "--json", description = "Print the connection details as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        WedgeCommand.checkExport(export);
        if (nbd.equals(link) && nbd.getPort() != 0) {
            throw new CliFailure("--nbd/--link: both " + ReplicationAddresses.hostPort(nbd)
                    + " (expected: two addresses, one for the host's NBD, one for the embedded replayer)", 2);
        }
        Files.createDirectories(dir);
        Path volume = dir.resolve("primary").resolve(export + ".img");
        Files.createDirectories(volume.getParent());
        long sizeBytes = WedgeCommand.volumeSize(volume, Files.exists(volume) ? null : size);
        ServeUntilStopped serve = new ServeUntilStopped();
        try {
            ReplayServer replayer = serve.own(ReplayServer.start(ReplayCommand.replayConfig(link, dir.resolve("remote"), "")));
            SourceNode node = serve.own(SourceNode.start(new SourceNode.Settings(nbd, export, volume, sizeBytes,
                    dir.resolve("buffer"), BufferConfig.ofMaxBytes(64L << 20, 4L << 30)
                            .withActivityLog(io.tapline.log.buffer.ActivityLogConfig.DEFAULT), List.of(replayer.boundAddress()),
                    InetAddress.getLocalHost().getHostName(), "")));
            node.usePrimaryPageCachePolicy(io.tapline.log.volume.PageCachePolicy.PACED); // the wedge's default
            if (metrics != null) {
                MetricsServer metricsServer = serve.own(MetricsServer.start(metrics));
                node.bindMetrics(metricsServer.registry(), export);
                ReplayMetrics.bind(metricsServer, replayer);
                java.util.Map<String, java.util.concurrent.Callable<java.util.Map<String, Object>>> sections =
                        new java.util.LinkedHashMap<>();
                sections.put("source", () -> StatusCommand.sourceReport(dir.resolve("buffer")));
                sections.put("replicas", () -> ReplicaStatusReport.of(dir.resolve("remote"), null));
                StatusPage.serve(metricsServer, "Tapline quickstart " + dir.toAbsolutePath(), sections);
            }
            printConnectionDetails(node.nbdAddress(), volume);
        } catch (Exception e) {
            serve.closeAll();
            throw e;
        }
        serve.await();
        return 0;
    }

    private void printConnectionDetails(InetSocketAddress nbdAddress, Path volume) {
        String uri = "nbd://" + ReplicationAddresses.hostPort(nbdAddress) + "/" + export;
        Path buffer = dir.resolve("buffer");
        Path replica = dir.resolve("remote").resolve(export).resolve("replica.img");
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("uri", uri);
        details.put("primary", volume.toAbsolutePath().toString());
        details.put("replica", replica.toAbsolutePath().toString());
        details.put("buffer", buffer.toAbsolutePath().toString());
        var out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(details));
        } else {
            out.println("Tapline quickstart is running (Ctrl-C stops it).");
            out.println("  NBD export : " + uri);
            out.println("  primary    : " + details.get("primary"));
            out.println("  replica    : " + details.get("replica"));
            out.println("Try:");
            out.println("  qemu-io -f raw -c 'write -P 0xab 0 1M' " + uri);
            out.println("  ./tapline status --buffer " + buffer + " --wait-synced 60");
            out.println("  cmp " + volume + " " + replica);
        }
        out.flush();
    }
}
