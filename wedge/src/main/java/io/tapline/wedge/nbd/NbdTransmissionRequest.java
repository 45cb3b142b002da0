package io.tapline.wedge.nbd;

/**
 * What {@link NbdRequestDecoder} emits for each request header: a request that passed
 * {@link NbdRequestValidator}, or a rejection that must be answered with its error.
 */
public sealed interface NbdTransmissionRequest permits NbdRequest, NbdRejectedRequest {
    /** The client's cookie (handle), echoed in the reply. */
    long cookie();
}
