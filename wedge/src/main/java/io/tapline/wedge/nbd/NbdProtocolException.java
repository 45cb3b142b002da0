package io.tapline.wedge.nbd;

import io.netty.handler.codec.DecoderException;

/**
 * The peer broke the protocol in a way that allows no error reply (bad magic, an absurd option
 * length, unknown client flags): the connection is dropped (a "hard disconnect" in proto.md).
 */
public final class NbdProtocolException extends DecoderException {
    private static final long serialVersionUID = 1L;

    public NbdProtocolException(String message) {
        super(message);
    }
}
