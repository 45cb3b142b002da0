package io.tapline.log.undo;

import java.io.IOException;

/** An undo segment, mark index or audit file is damaged in a way recovery must not paper over. */
public final class UndoFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public UndoFormatException(String message) {
        super(message);
    }
}
