package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a shared secret from a file, so that it never appears on a command line or in ps. */
final class Credentials {
    private Credentials() {
    }

    /** The trimmed file content, or the empty string (no credential) when {@code file} is null. */
    static String read(Path file) {
        if (file == null) {
            return "";
        }
        try {
            String secret = Files.readString(file).trim();
            if (secret.isEmpty()) {
                throw new CliFailure("credential file: " + file + " is empty (expected: a shared secret)");
            }
            return secret;
        } catch (IOException e) {
            throw new CliFailure("credential file: " + file + " unreadable (" + e.getMessage() + ")");
        }
    }
}
