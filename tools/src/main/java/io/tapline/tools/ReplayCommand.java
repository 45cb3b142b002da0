package io.tapline.tools;

import io.tapline.replay.ReplayConfig;
import io.tapline.replay.ReplayServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tapline replay}: the replayer, serving journey links and applying records to replicas. */
@Command(name = "replay", mixinStandardHelpOptions = true,
        description = "Runs a replayer: accepts journey links and applies records, in order, to <data>/<volume>/replica.img.")
final class ReplayCommand implements Callable<Integer> {

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT", description = "Journey link address to listen on.")
    InetSocketAddress listen;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Directory holding one folder per volume.")
    Path data;

    @Option(names = "--credential-file", paramLabel = "FILE",
            description = "File holding the shared secret sources must present (default: none required).")
    Path credentialFile;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
    InetSocketAddress metrics;

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(data);
        ServeUntilStopped serve = new ServeUntilStopped();
        MetricsServer metricsServer = metrics == null ? null : serve.own(MetricsServer.start(metrics));
        ReplayServer server = serve.own(ReplayServer.start(replayConfig(listen, data, Credentials.read(credentialFile))));
        if (metricsServer != null) {
            ReplayMetrics.bind(metricsServer, server);
        }
        System.err.println("tapline replay: listening on " + server.boundAddress() + ", data " + data.toAbsolutePath());
        serve.await();
        return 0;
    }

    static ReplayConfig replayConfig(InetSocketAddress listen, Path data, String credential) {
        return ReplayConfig.of(listen, data).withCredential(credential);
    }
}
