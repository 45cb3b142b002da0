package io.tapline.tools.cli;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;

/**
 * Whether a command wrote anything on stdout: a failure's JSON ({@code --json}) is printed only
 * when the command printed nothing, so that stdout holds one JSON document, never two (a command
 * that printed its summary, then failed, has its reason in that summary and on stderr).
 */
public final class StdoutWatch extends FilterOutputStream {
    private static volatile boolean used;

    private StdoutWatch(OutputStream out) {
        super(out);
    }

    /**
     * Puts the watch on {@link System#out} (once, at the process's start): the standard output's
     * descriptor through one buffer, flushed at the end of each line (here, not by the
     * {@code PrintStream}: one with auto-flush flushes every piece a {@code printf} writes, a system
     * call each, ~20 a line: {@code audit list} of 2 million entries took over a minute) and when
     * the process exits.
     */
    public static void install() {
        PrintStream stdout = new PrintStream(new StdoutWatch(new BufferedOutputStream(
                new FileOutputStream(FileDescriptor.out), 1 << 16)), false);
        System.setOut(stdout);
        Runtime.getRuntime().addShutdownHook(new Thread(stdout::flush, "stdout-flush"));
    }

    /** Whether anything was written on stdout since {@link #install} (false without it). */
    public static boolean used() {
        return used;
    }

    @Override
    public void write(int b) throws IOException {
        used = true;
        out.write(b);
        if (b == '\n') {
            out.flush();
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        used = true;
        out.write(b, off, len);
        for (int i = off + len - 1; i >= off; i--) {
            if (b[i] == '\n') {
                out.flush();
                return;
            }
        }
    }
}
