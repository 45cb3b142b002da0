package io.tapline.journey.control;

/**
 * The control plane of a journey session (frame type CONTROL): replica state reports from the
 * replayer, chunk-hash requests and replies for resync and verify. Encoded with Kryo by
 * {@link ControlCodec}; each message class is registered there with a fixed id and uses tagged
 * fields, so a field can be added later without breaking older peers.
 */
public sealed interface ControlMessage permits ReplicaStateReport, ChunkHashRequest, ChunkHashReply, VerifyReport,
        SourceGeneration, SourceHead, SourceDiverged, SourceStopping {
}
