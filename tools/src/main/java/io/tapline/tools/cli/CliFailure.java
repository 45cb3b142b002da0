package io.tapline.tools.cli;

/**
 * A failure the CLI reports as one line on stderr with a non-zero exit code and no stack trace
 * (unless {@code --verbose}).
 */
public final class CliFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    public CliFailure(String message) {
        this(message, 1);
    }

    public CliFailure(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
