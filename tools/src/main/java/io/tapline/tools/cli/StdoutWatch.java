package io.tapline.tools.cli;

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

    /** Puts the watch on {@link System#out} (once, at the process's start). */
    public static void install() {
        System.setOut(new PrintStream(new StdoutWatch(System.out), true));
    }

    /** Whether anything was written on stdout since {@link #install} (false without it). */
    public static boolean used() {
        return used;
    }

    @Override
    public void write(int b) throws IOException {
        used = true;
        out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        used = true;
        out.write(b, off, len);
    }
}
