package io.tapline.snoop.tcp;

/**
 * Receives one direction of a reassembled TCP byte stream, in order. Called on the capture
 * thread only.
 */
public interface StreamConsumer {
    /** The next {@code length} bytes of the stream; the array is only valid during the call. */
    void data(byte[] bytes, int offset, int length);

    /**
     * {@code lengthBytes} of the stream were lost (a hole that was never filled, or bytes cut by
     * the snaplen); the next {@link #data} call continues after them.
     */
    void gap(long lengthBytes);

    /** The stream ended (FIN, RST or end of capture); nothing follows. */
    void end();
}
