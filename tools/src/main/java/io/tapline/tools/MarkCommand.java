package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.SecondsConverter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tapline mark}: puts a named MARK into a volume's record stream through the running
 * wedge or snoop (see {@link io.tapline.journey.source.MarkSpool}) and prints the sequence it got once it is durable.
 */
@Command(name = "mark", mixinStandardHelpOptions = true,
        description = "Records a named mark in a volume's stream, ordered with the host's writes, through the running wedge or snoop.")
final class MarkCommand implements Callable<Integer> {

    @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The buffer directory of the running wedge or snoop.")
    Path buffer;

    @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume (export name).")
    String volume;

    @Option(names = "--timeout", paramLabel = "SECONDS", converter = SecondsConverter.class, defaultValue = "30",
            description = "Give up if the source has not stored the mark by then (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--json", description = "Machine-readable result.")
    boolean json;

    @Parameters(index = "0", paramLabel = "NAME", description = "The mark's name (1..255 UTF-8 bytes).")
    String name;

    @Override
    public Integer call() throws Exception {
        int n = name.getBytes(StandardCharsets.UTF_8).length;
        if (n < 1 || n > 255) {
            throw new CliFailure("NAME: " + n + " bytes (expected: 1..255 UTF-8 bytes)", 2);
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isISOControl(name.charAt(i))) {
                // a newline in a name would print as a row of its own in `audit list` and `window`
                throw new CliFailure("NAME: control character 0x" + Integer.toHexString(name.charAt(i)) + " at index "
                        + i + " (expected: printable characters)", 2);
            }
        }
        Path dir = SpoolClient.requests(buffer, volume);
        String id = SpoolClient.submit(dir, ".mark", name);
        Path answer = SpoolClient.await(dir, id, ".mark", System.nanoTime() + timeoutSeconds * 1_000_000_000L,
                "mark " + name + ": the source did not store it within " + timeoutSeconds
                        + " s (is the wedge or snoop for volume " + volume + " running?)", () -> { }, ".done", ".failed");
        String text = SpoolClient.take(answer);
        if (answer.getFileName().toString().endsWith(".failed")) {
            throw new CliFailure("mark " + name + ": " + text);
        }
        long seq = Long.parseLong(text);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("volume", volume);
            m.put("mark", name);
            m.put("sequence", seq);
            System.out.println(Json.write(m));
        } else {
            System.out.println("mark " + name + " on volume " + volume + " at seq " + seq);
        }
        return 0;
    }
}
