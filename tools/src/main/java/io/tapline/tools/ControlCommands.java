package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tapline capture pause|resume} and {@code tapline ship pause|resume}: operator controls of a running wedge. */
final class ControlCommands {
    private ControlCommands() {
    }

    /** Options both commands share. */
    static class Target {
        @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The wedge's buffer directory.")
        Path buffer;

        @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume (export name).")
        String volume;

        @Option(names = "--json", description = "Machine-readable result.")
        boolean json;

        @Parameters(index = "0", paramLabel = "ACTION", description = "pause or resume.")
        String action;

        Integer send(String suffix, String body) throws Exception {
            if (!action.equals("pause") && !action.equals("resume")) {
                throw new CliFailure("ACTION: " + action + " (expected: pause or resume)", 2);
            }
            Path dir = buffer.resolve(volume).resolve(MarkSpool.DIR);
            if (!Files.isDirectory(dir)) {
                throw new CliFailure("volume " + volume + ": no " + dir + " (expected: a running wedge for this volume)");
            }
            String id = UUID.randomUUID().toString();
            Path tmp = dir.resolve(id + ".tmp");
            Files.writeString(tmp, body);
            Files.move(tmp, dir.resolve(id + suffix), StandardCopyOption.ATOMIC_MOVE);
            Path done = dir.resolve(id + ".done");
            Path failed = dir.resolve(id + ".failed");
            long deadline = System.nanoTime() + 15_000_000_000L;
            while (!Files.exists(done) && !Files.exists(failed)) {
                if (System.nanoTime() > deadline) {
                    Files.deleteIfExists(dir.resolve(id + suffix));
                    throw new CliFailure("volume " + volume + ": the wedge did not answer within 15 s (is it running?)");
                }
                Thread.sleep(50); // another process answers through a file
            }
            if (Files.exists(failed)) {
                String why = Files.readString(failed).trim();
                Files.deleteIfExists(failed);
                throw new CliFailure(why);
            }
            String text = Files.readString(done).trim();
            Files.deleteIfExists(done);
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("volume", volume);
                m.put("action", action);
                m.put("result", text);
                System.out.println(Json.write(m));
            } else {
                System.out.println(text);
            }
            return 0;
        }
    }

    static String actor() throws java.io.IOException {
        return System.getProperty("user.name") + "@" + InetAddress.getLocalHost().getHostName();
    }

    /** {@code tapline capture pause|resume}. */
    @Command(name = "capture", mixinStandardHelpOptions = true,
            description = "Stops or restarts capture of a volume on the running wedge; the host's writes go on, the "
                    + "changed chunks are tracked while stopped and resynced on resume.")
    static final class Capture extends Target implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            return send(OperatorControls.CAPTURE_SUFFIX, action + "\n" + actor() + "\n");
        }
    }

    /** {@code tapline ship pause|resume}. */
    @Command(name = "ship", mixinStandardHelpOptions = true,
            description = "Stops or restarts shipping a volume to one remote (--remote) or all, on the running wedge; "
                    + "the buffer keeps the records meanwhile.")
    static final class Ship extends Target implements Callable<Integer> {
        @Option(names = "--remote", paramLabel = "HOST:PORT", defaultValue = "*",
                description = "Only this remote (default: every remote).")
        String remote;

        @Override
        public Integer call() throws Exception {
            return send(OperatorControls.SHIP_SUFFIX, action + "\n" + remote + "\n" + actor() + "\n");
        }
    }
}
