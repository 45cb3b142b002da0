package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import io.tapline.tools.cli.Json;
import io.tapline.tools.cli.SocketAddressConverter;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.NoSuchFileException;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tapline} command: one entry point with subcommands for every role (replayer, wedge,
 * status, quickstart, buffer repair).
 *
 * <p>Exit codes: 0 success, 1 failure (one line on stderr; the stack trace only with
 * {@code --verbose}), 2 bad arguments.
 */
@Command(name = "tapline",
        mixinStandardHelpOptions = true,
        versionProvider = TaplineCli.Version.class,
        description = "Captures the writes a host sends to its disk and replays them, in order, on a remote replica.")
public class TaplineCli implements Runnable {
    static {
        // First in the class: before any of its fields (or a subcommand) can load Netty.
        JvmDefaults.apply();
    }

    /**
     * The subcommands, in the order {@code tapline --help} lists them ({@link CommandTree}'s). They
     * are added by {@link #newCommandLine(boolean, String...)}: picocli builds the model of every
     * command it is given from its annotations, which took about 0.15 s of each start
     * (docs/benchmarks.md#cli-lazy-subcommands), so a run that names its command gets that one alone.
     */
    static final List<Class<?>> SUBCOMMANDS = List.of(CommandTree.class.getAnnotation(Command.class).subcommands());

    /**
     * The whole command tree in its annotations, for picocli's generators of man pages and bash
     * completion (dist/pom.xml), and the one list of subcommands.
     */
    @Command(subcommands = {
        ReplayCommand.class,
        WedgeCommand.class,
        SnoopCommand.class,
        StatusCommand.class,
        EventsCommand.class,
        HeatCommand.class,
        ResyncCommand.class,
        CycleCommand.class,
        VerifyCommand.class,
        ControlCommands.Capture.class,
        ControlCommands.Ship.class,
        QuickstartCommand.class,
        BufferCommand.class,
        MarkCommand.class,
        RollbackCommand.class,
        ResumeCommand.class,
        PromoteCommand.class,
        DemoteCommand.class,
        ResolveCommand.class,
        SwitchoverCommand.class,
        ControlCommands.Config.class,
        ImageCommand.class,
        AuditCommand.class,
        WindowCommand.class,
        CommandLine.HelpCommand.class
    })
    public static final class CommandTree extends TaplineCli {
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** On every command (inherited): the stack trace after the one-line error. */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "On failure, print the stack trace after the one-line error.")
    boolean verbose;

    public static void main(String[] args) {
        JvmDefaults.applyToProcess();
        io.tapline.tools.cli.StdoutWatch.install();
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (used by tests and {@link #main}). */
    public static int run(String... args) {
        return newCommandLine(Arrays.asList(args).contains("--verbose"), args).execute(args);
    }

    /** Builds the command line with every subcommand, Tapline's converters and one-line error handling. */
    public static CommandLine newCommandLine(boolean verbose) {
        return newCommandLine(verbose, new String[0]);
    }

    /**
     * Builds the command line for {@code args}: when its first word names a subcommand (by name
     * or alias), with that one alone; for {@code --version} alone with none; else (no command,
     * {@code help}, a word that names none) with all of them, so that usage and errors list them all.
     */
    public static CommandLine newCommandLine(boolean verbose, String... args) {
        CommandLine cl = new CommandLine(new TaplineCli());
        for (Class<?> c : subcommandsFor(args)) {
            cl.addSubcommand(c);
        }
        cl.registerConverter(InetSocketAddress.class, new SocketAddressConverter());
        cl.registerConverter(java.time.Instant.class, new io.tapline.tools.cli.InstantConverter());
        cl.registerConverter(java.time.Duration.class, new io.tapline.tools.cli.AnyDurationConverter());
        cl.setParameterExceptionHandler(new BadArguments());
        cl.setExecutionExceptionHandler(new Failure(verbose));
        return cl;
    }

    /** The subcommands {@code args} needs (see {@link #newCommandLine(boolean, String...)}). */
    private static List<Class<?>> subcommandsFor(String... args) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            return List.of();
        }
        Class<?> named = namedSubcommand(args);
        return named == null ? SUBCOMMANDS : List.of(named);
    }

    /** The subcommand the first word of {@code args} names; null for none, or for {@code help}. */
    static Class<?> namedSubcommand(String... args) {
        String word = Arrays.stream(args).filter(a -> !a.startsWith("-")).findFirst().orElse(null);
        if (word == null) {
            return null;
        }
        for (Class<?> c : SUBCOMMANDS) {
            Command command = c.getAnnotation(Command.class);
            if (c != CommandLine.HelpCommand.class
                    && (command.name().equals(word) || Arrays.asList(command.aliases()).contains(word))) {
                return c;
            }
        }
        return null;
    }

    /*
     * The two handlers are classes, not lambdas: picocli's interfaces are Java 5 class files, which
     * the class-data archive skips once a lambda has linked them at dump time ("Old class has been
     * linked"); each start then loaded them from picocli's jar, opening every jar before it on the
     * class path (docs/benchmarks.md#cli-class-path-walks).
     */

    /** Bad arguments: the one-line reason and where to read more; exit code 2. */
    private static final class BadArguments implements CommandLine.IParameterExceptionHandler {
        @Override
        public int handleParseException(CommandLine.ParameterException ex, String[] args) {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("tapline: " + ex.getMessage());
            err.println("see: " + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help");
            if (Arrays.asList(args).contains("--json")) {
                failureAsJson(ex.getCommandLine(), ex.getMessage(), 2);
            }
            return 2;
        }
    }

    /** A command that failed: one line (the stack trace too with {@code --verbose}); its exit code. */
    private static final class Failure implements CommandLine.IExecutionExceptionHandler {
        private final boolean verbose;

        Failure(boolean verbose) {
            this.verbose = verbose;
        }

        @Override
        public int handleExecutionException(Exception ex, CommandLine commandLine, CommandLine.ParseResult parseResult) {
            PrintWriter err = commandLine.getErr();
            String line = oneLine(ex);
            err.println("tapline: " + line);
            if (verbose) {
                ex.printStackTrace(err);
            }
            int exitCode = ex instanceof CliFailure f ? f.exitCode() : 1;
            CommandLine.ParseResult failed = commandLine.getParseResult();
            if (failed != null && failed.hasMatchedOption("--json")) {
                failureAsJson(commandLine, line, exitCode);
            }
            return exitCode;
        }
    }

    /**
     * With {@code --json}, a failure is machine-readable on stdout too (a script reading stdout
     * otherwise meets nothing): {@code {"error": "...", "exitCode": N}}; stderr keeps the one-line
     * message. Not when the command already printed on stdout (its summary holds the reason).
     */
    private static void failureAsJson(CommandLine commandLine, String message, int exitCode) {
        if (io.tapline.tools.cli.StdoutWatch.used()) {
            return; // the command printed its own JSON (a summary with the reason): one document on stdout
        }
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("error", message == null ? "" : message.replace('\n', ' '));
        m.put("exitCode", exitCode);
        commandLine.getOut().println(Json.write(m));
        commandLine.getOut().flush();
    }

    private static String oneLine(Throwable ex) {
        if (ex instanceof NoSuchFileException nsf) {
            return "no such file: " + nsf.getFile();
        }
        if (ex instanceof java.nio.file.FileAlreadyExistsException fae) {
            return "a file is in the way of a directory (or a file exists already): " + fae.getFile();
        }
        if (ex instanceof java.nio.file.AccessDeniedException ade) {
            return "permission denied: " + ade.getFile();
        }
        if (ex instanceof java.nio.file.NotDirectoryException nde) {
            return "not a directory: " + nde.getFile();
        }
        String message = ex.getMessage();
        if (message == null || message.isBlank()) {
            message = ex.getClass().getSimpleName();
        }
        return message.replace('\n', ' ');
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Reports the version and build time (from {@code tapline-build.properties}, filled in by the
     * build), the commit when the launcher knows it ({@code -Dtapline.commit}), and the copyright.
     */
    static final class Version implements CommandLine.IVersionProvider {
        /** {@code tapline-build.properties} (version, build time), empty when the build did not write it. */
        static java.util.Properties buildProperties() throws java.io.IOException {
            java.util.Properties p = new java.util.Properties();
            try (var in = TaplineCli.class.getResourceAsStream("/tapline-build.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return p;
        }

        @Override
        public String[] getVersion() throws java.io.IOException {
            java.util.Properties p = buildProperties();
            String commit = System.getProperty("tapline.commit", "");
            return new String[] {
                "tapline " + p.getProperty("version", "dev") + ", built " + p.getProperty("built", "unknown")
                        + (commit.isBlank() ? "" : ", commit " + commit),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")",
                "Copyright (c) 2026 the Tapline authors. No licence has been granted yet: all rights reserved."
            };
        }
    }
}
