package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
            return ControlCommands.send(buffer, volume, suffix, body, json, "action", action);
        }
    }

    /**
     * Drops a request for the running wedge of {@code volume}, waits up to 15 s for its answer
     * and prints it (with {@code key: value} in the JSON); a refusal is a one-line failure.
     */
    static Integer send(Path buffer, String volume, String suffix, String body, boolean json, String key,
            Object value) throws Exception {
        return send(buffer, volume, suffix, body, json, key, value, 15);
    }

    /** As above, waiting up to {@code timeoutSeconds}. */
    static Integer send(Path buffer, String volume, String suffix, String body, boolean json, String key,
            Object value, long timeoutSeconds) throws Exception {
        Path dir = SpoolClient.requests(buffer, volume);
        String id = SpoolClient.submit(dir, suffix, body);
        Path answer = SpoolClient.await(dir, id, suffix, System.nanoTime() + timeoutSeconds * 1_000_000_000L,
                "volume " + volume + ": no answer within " + timeoutSeconds + " s (is its wedge, snoop or node"
                        + " running?)", () -> { }, ".done", ".failed");
        String text = SpoolClient.take(answer);
        if (answer.getFileName().toString().endsWith(".failed")) {
            throw new CliFailure(text);
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("volume", volume);
            m.put(key, value);
            m.put("result", text);
            System.out.println(Json.write(m));
        } else {
            System.out.println(text);
        }
        return 0;
    }

    /** {@code tapline capture pause|resume}. */
    @Command(name = "capture", mixinStandardHelpOptions = true,
            description = "Stops or restarts capture of a volume on the running wedge; the host's writes go on, the "
                    + "changed chunks are tracked while stopped and resynced on resume.")
    static final class Capture extends Target implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            return send(OperatorControls.CAPTURE_SUFFIX, action + "\n" + Actor.current() + "\n");
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
            return send(OperatorControls.SHIP_SUFFIX, action + "\n" + remote + "\n" + Actor.current() + "\n");
        }
    }

    /** {@code tapline config set}. */
    @Command(name = "config", mixinStandardHelpOptions = true,
            description = "Changes the configuration of the running wedge of a volume, without a restart.",
            subcommands = ConfigSet.class)
    static final class Config implements Runnable {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    /** {@code tapline config set --remote OLD=NEW --resync-rate SIZE}. */
    @Command(name = "set", mixinStandardHelpOptions = true,
            description = {"Corrects settings of the running wedge: a remote's address (the next connection goes to"
                    + " NEW; the remote keeps its cursor and name) and the resync rate limit.",
                    "Every value is checked first: a bad one changes nothing. The running process only: change its"
                            + " command line too."})
    static final class ConfigSet implements Callable<Integer> {
        @Option(names = "--buffer", required = true, paramLabel = "DIR", description = "The wedge's buffer directory.")
        Path buffer;

        @Option(names = "--volume", required = true, paramLabel = "ID", description = "The volume (export name).")
        String volume;

        @Option(names = "--remote", paramLabel = "OLD=NEW", description = "Ship to NEW (HOST:PORT) instead of OLD"
                + " (the remote as configured or as last set; repeatable).")
        List<String> remotes = new java.util.ArrayList<>();

        @Option(names = "--resync-rate", paramLabel = "SIZE", converter = io.tapline.tools.cli.ByteSizeConverter.OrZero.class,
                description = "Bytes of the primary a resync may read per second, e.g. 200M; 0 = unlimited.")
        Long resyncRate;

        @Option(names = "--json", description = "Machine-readable result.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            StringBuilder body = new StringBuilder(Actor.current()).append('\n');
            for (String r : remotes) {
                int eq = r.indexOf('=');
                if (eq <= 0 || eq == r.length() - 1) {
                    throw new CliFailure("--remote: " + r + " (expected: OLD=NEW, e.g. 10.0.0.8:7070=10.0.0.9:7070)", 2);
                }
                try {
                    new io.tapline.tools.cli.SocketAddressConverter.Peer().convert(r.substring(eq + 1)); // one line now
                } catch (picocli.CommandLine.TypeConversionException e) {
                    throw new CliFailure("--remote: " + e.getMessage(), 2);
                }
                body.append("remote ").append(r, 0, eq).append(' ').append(r.substring(eq + 1)).append('\n');
            }
            if (resyncRate != null) {
                body.append("resync-rate ").append(resyncRate).append('\n');
            }
            if (remotes.isEmpty() && resyncRate == null) {
                throw new CliFailure("nothing to set (expected: --remote OLD=NEW and/or --resync-rate SIZE)", 2);
            }
            return ControlCommands.send(buffer, volume, OperatorControls.CONFIG_SUFFIX, body.toString(), json,
                    "settings", body.toString().lines().skip(1).toList());
        }
    }
}
