package io.tapline.tools;

import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tapline wedge}: the inline NBD interceptor, its capture buffer and its shippers. */
@Command(name = "wedge", mixinStandardHelpOptions = true,
        description = "Serves a primary volume over NBD; every write goes to the volume and into the capture buffer, "
                + "which is shipped to each --remote replayer.")
final class WedgeCommand implements Callable<Integer> {

    @Option(names = "--nbd", required = true, paramLabel = "HOST:PORT", description = "NBD address to listen on.")
    InetSocketAddress nbd;

    @Option(names = "--export", required = true, paramLabel = "NAME", description = "Export name, also the volume id.")
    String export;

    @Option(names = "--volume", required = true, paramLabel = "FILE", description = "Primary volume image (created sparse if missing).")
    Path volume;

    @Option(names = "--size", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Volume size, e.g. 4G (required when the volume file does not exist; must match when it does).")
    Long size;

    @Mixin
    SourceOptions sourceOptions;

    @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "Capture buffer directory.")
    Path buffer;

    @Option(names = "--credential-file", paramLabel = "FILE", description = "File holding the replayer's shared secret.")
    Path credentialFile;

    @Option(names = "--metrics", paramLabel = "HOST:PORT", description = "Serve Prometheus metrics at http://HOST:PORT/metrics.")
    InetSocketAddress metrics;

    @Option(names = "--resync-rate", paramLabel = "SIZE", converter = ByteSizeConverter.class,
            description = "Bytes of the primary a resync may read per second for comparisons, e.g. 200M "
                    + "(default: unlimited).")
    Long resyncRate;

    @Option(names = "--resync-chunk", paramLabel = "SIZE", converter = ByteSizeConverter.class, defaultValue = "64K",
            description = "Chunk compared by hash first; differing chunks are compared again per 4 KiB block "
                    + "(power of two, 4K..1M; default: ${DEFAULT-VALUE}).")
    long resyncChunk;

    @Override
    public Integer call() throws Exception {
        ServeUntilStopped serve = new ServeUntilStopped();
        MetricsServer metricsServer = metrics == null ? null : serve.own(MetricsServer.start(metrics));
        SourceNode node = serve.own(SourceNode.start(settings()));
        if (metricsServer != null) {
            node.bindMetrics(metricsServer.registry(), export);
        }
        System.err.println("tapline wedge: serving nbd://" + ReplicationAddresses.hostPort(node.nbdAddress()) + "/" + export
                + ", buffer " + buffer.toAbsolutePath() + ", remotes " + sourceOptions.remotes.size());
        serve.await();
        return 0;
    }

    SourceNode.Settings settings() throws IOException {
        long sizeBytes = volumeSize(volume, size);
        io.tapline.journey.resync.ResyncConfig resync;
        try {
            if (resyncChunk > (1 << 20)) {
                throw new IllegalArgumentException("chunkBytes: " + resyncChunk + " (expected: a power of two in 4096..1048576)");
            }
            var d = io.tapline.journey.resync.ResyncConfig.DEFAULT;
            resync = new io.tapline.journey.resync.ResyncConfig((int) resyncChunk, d.blockBytes(),
                    resyncRate == null ? 0 : resyncRate,
                    d.ackTimeout(), d.poll());
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--resync-chunk/--resync-rate: " + e.getMessage(), 2);
        }
        return new SourceNode.Settings(nbd, export, volume, sizeBytes, buffer, sourceOptions.bufferConfig(),
                sourceOptions.remotes, sourceOptions.sourceId(), Credentials.read(credentialFile), resync);
    }

    /** The configured size, or the existing file's; refuses a mismatch or a missing size for a new file. */
    static long volumeSize(Path volume, Long size) throws IOException {
        if (Files.exists(volume)) {
            if (!Files.isRegularFile(volume) || !Files.isWritable(volume)) {
                throw new CliFailure("volume: " + volume + " (expected: a writable regular file)");
            }
            long existing = Files.size(volume);
            if (size != null && size != existing && existing != 0) {
                throw new CliFailure("--size: " + size + " bytes (expected: " + existing + ", the size of existing volume "
                        + volume + ")");
            }
            return size != null ? size : existing;
        }
        if (size == null) {
            throw new CliFailure("--size: missing (expected: a size such as 4G, since " + volume + " does not exist yet)", 2);
        }
        Path parent = volume.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new CliFailure("volume: " + volume + " (expected: a file in an existing directory)");
        }
        return size;
    }
}
