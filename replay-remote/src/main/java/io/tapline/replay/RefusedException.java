package io.tapline.replay;

/** A HELLO cannot open its volume; the message is the REFUSED reason sent to the source. */
final class RefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    RefusedException(String reason) {
        super(reason);
    }
}
