package io.tapline.tools;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code tapline} subcommand running in its own JVM, as an operator would run it, so that tests
 * can kill it with SIGKILL. Output goes to a log file that failures print.
 */
final class TaplineProcess implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final List<String> args;

    private TaplineProcess(Process process, Path log, List<String> args) {
        this.process = process;
        this.log = log;
        this.args = args;
    }

    /**
     * JVM options for a node whose replica exports scan their data directory every 5 ms (not every
     * second): a scan then runs beside every promotion and demotion, where one once served a
     * demoted volume read-write again.
     */
    static final List<String> BUSY_SCAN = List.of("-Xmx512m", "-D" + ReplicaExports.SCAN_PERIOD_PROPERTY + "=5");

    /** Starts {@code tapline ARGS...}, logging to {@code log}. */
    static TaplineProcess start(Path log, String... args) throws IOException {
        return startWithHeap(log, "-Xmx512m", args);
    }

    /** Starts {@code tapline ARGS...} with a heap of {@code xmx} (e.g. {@code -Xmx2g}), logging to {@code log}. */
    static TaplineProcess startWithHeap(Path log, String xmx, String... args) throws IOException {
        return startWithJvmOptions(log, List.of(xmx), args);
    }

    /** Starts {@code tapline ARGS...} with these JVM options (the first is the heap, e.g. {@code -Xmx512m}). */
    static TaplineProcess startWithJvmOptions(Path log, List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(javaCommand());
        cmd.remove(1);
        cmd.addAll(1, jvmOptions);
        return launch(log, cmd, args);
    }

    /** Starts {@code PREFIX... java ... tapline ARGS...} (e.g. {@code ip netns exec NAME}), logging to {@code log}. */
    static TaplineProcess startWithPrefix(Path log, List<String> prefix, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(javaCommand());
        return launch(log, cmd, args);
    }

    /** Starts {@code command} followed by the subcommand's {@code args}, its output appended to {@code log}. */
    private static TaplineProcess launch(Path log, List<String> command, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        return new TaplineProcess(p, log, List.of(args));
    }

    /**
     * Runs {@code tapline ARGS...} to completion and returns its exit code and output; a quick
     * command ({@code status}, {@code mark}, ...) as {@code ./tapline} starts it ({@link QuickCommandJvm}).
     */
    static Peers.Result run(Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(args.length > 0 && QuickCommandJvm.isQuick(args[0])
                ? QuickCommandJvm.command() : javaCommand());
        cmd.addAll(List.of(args));
        return Peers.run(timeout, cmd);
    }

    static List<String> javaCommand() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return List.of(java, "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), TaplineCli.class.getName());
    }

    /** Waits until {@code address} accepts TCP connections, failing with the log if the process died. */
    TaplineProcess awaitListening(InetSocketAddress address, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("tapline " + args + " exited " + process.exitValue() + ":\n" + logText());
            }
            try (Socket s = new Socket()) {
                s.connect(address, 200);
                return this;
            } catch (IOException notYet) {
                Thread.onSpinWait();
                process.waitFor(50, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }
        throw new AssertionError("tapline " + args + " not listening on " + address + " after " + timeout + ":\n" + logText());
    }

    /** Waits until the log holds {@code line}, failing with the log if the process died or time ran out. */
    TaplineProcess awaitLogLine(String line, Duration timeout) throws InterruptedException {
        if (logsWithin(line, timeout)) {
            return this;
        }
        throw new AssertionError("tapline " + args + " did not log \"" + line + "\" in " + timeout + ":\n" + logText());
    }

    /**
     * Whether the process logs {@code line} within {@code window} (looked for every 50 ms, waiting on
     * the process meanwhile); an exit before is an AssertionError with the log.
     */
    boolean logsWithin(String line, Duration window) throws InterruptedException {
        long deadline = System.nanoTime() + window.toNanos();
        while (System.nanoTime() < deadline) {
            if (logText().contains(line)) {
                return true;
            }
            if (!process.isAlive()) {
                throw new AssertionError("tapline " + args + " exited " + process.exitValue() + ":\n" + logText());
            }
            process.waitFor(50, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        return logText().contains(line);
    }

    /** SIGKILL, as a crash would. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** Waits up to {@code millis} for the process to exit (a bounded poll step); true if it has. */
    boolean awaitExit(long millis) throws InterruptedException {
        return process.waitFor(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** Waits up to {@code timeout} for the process to end; its exit code, or -1 if it still runs. */
    int exitCode(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    }

    /**
     * Sends {@code SIGSTOP} ({@code stop} true) or {@code SIGCONT}: a process that hangs and
     * resumes, its sockets left open and its kernel still acknowledging their bytes.
     */
    void suspend(boolean stop) throws IOException, InterruptedException {
        Peers.ok(Duration.ofSeconds(10), "kill", stop ? "-STOP" : "-CONT", Long.toString(process.pid()));
    }

    /** The process id (for /proc figures). */
    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no log)";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** SIGTERM and wait for a graceful stop. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
    }
}
