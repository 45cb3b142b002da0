package io.tapline.log;

/**
 * A stored or received record does not follow the record format: bad length, unknown kind or
 * version, or a CRC32C mismatch. The message names the field, the value and the constraint.
 */
public class RecordFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RecordFormatException(String message) {
        super(message);
    }
}
