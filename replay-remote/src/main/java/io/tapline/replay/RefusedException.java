package io.tapline.replay;

/**
 * A HELLO cannot open its volume, or an administrator's request or an image cannot be served;
 * the message is the reason given (REFUSED, ADMIN_DONE, or the CLI's error line).
 */
public final class RefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    RefusedException(String reason) {
        super(reason);
    }
}
