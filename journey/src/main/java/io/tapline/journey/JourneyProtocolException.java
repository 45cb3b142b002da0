package io.tapline.journey;

import io.netty.handler.codec.DecoderException;

/**
 * A peer broke the journey protocol: a frame too long or too short, an unknown type, a field
 * out of range, a batch whose checksum or record bytes do not add up. The message names the
 * field, the value and the constraint. The connection is not usable afterwards.
 */
public class JourneyProtocolException extends DecoderException {
    private static final long serialVersionUID = 1L;

    public JourneyProtocolException(String message) {
        super(message);
    }

    public JourneyProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
