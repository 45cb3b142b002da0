package io.tapline.journey.control;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer;
import com.esotericsoftware.kryo.util.Pool;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import io.tapline.journey.JourneyProtocolException;

/**
 * Encodes {@link ControlMessage}s into CONTROL frames and back, with Kryo in registration-required
 * mode: only the classes registered here (fixed ids, never reused) can be read, so a peer cannot
 * make the decoder instantiate anything else. Fields are tagged ({@link TaggedFieldSerializer}),
 * but a decoder refuses a tag it does not know (Kryo skips unknown tags only in its chunked
 * encoding, another wire format): a field added to a message is sent only to peers of a protocol
 * version that knows it ({@link #encode(ControlMessage, int)}).
 *
 * <pre>
 * id  class
 * 10  long[]
 * 11  ReplicaStateReport
 * 12  ChunkHashRequest
 * 13  ChunkHashReply
 * 14  VerifyReport
 * 15  SourceGeneration
 * 16  SourceHead
 * 17  SourceDiverged
 * 18  SourceStopping
 * </pre>
 *
 * <p>Thread-safe: Kryo instances come from a pool.
 */
public final class ControlCodec {
    /** Largest encoded control message accepted (a reply of {@link ChunkHashRequest#MAX_CHUNKS} chunks fits). */
    public static final int MAX_BYTES = 1 << 20;

    private static final Pool<Kryo> KRYOS = new Pool<>(true, false, 8) {
        @Override
        protected Kryo create() {
            return newKryo(false);
        }
    };

    /**
     * For sources of protocol version 3 and below: a {@link ReplicaStateReport} without its tags 7
     * ({@code heartbeatMillis}) and 8 ({@code unappliedForMillis}), added in version 3's lifetime:
     * a version-3 source built before them cannot decode a report that carries them (probe Z D2: a
     * source of 2026-12-05 reconnected ten times a second to an upgraded replayer). A version-3
     * source that knows them reads them as 0: "a replayer that does not say", as from an older one.
     */
    private static final Pool<Kryo> VERSION_3_KRYOS = new Pool<>(true, false, 4) {
        @Override
        protected Kryo create() {
            return newKryo(true);
        }
    };

    /** A Kryo that reads and writes the registered messages; {@code forVersion3}: the report without tags 7 and 8. */
    private static Kryo newKryo(boolean forVersion3) {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        kryo.setReferences(false);
        kryo.setDefaultSerializer(TaggedFieldSerializer.class);
        kryo.register(long[].class, new BoundedLongArraySerializer(), 10);
        if (forVersion3) {
            TaggedFieldSerializer<ReplicaStateReport> report = new TaggedFieldSerializer<>(kryo, ReplicaStateReport.class);
            report.removeField("heartbeatMillis");
            report.removeField("unappliedForMillis");
            kryo.register(ReplicaStateReport.class, report, 11);
        } else {
            kryo.register(ReplicaStateReport.class, 11);
        }
        kryo.register(ChunkHashRequest.class, 12);
        kryo.register(ChunkHashReply.class, 13);
        kryo.register(VerifyReport.class, 14);
        kryo.register(SourceGeneration.class, 15);
        kryo.register(SourceHead.class, 16);
        kryo.register(SourceDiverged.class, 17);
        kryo.register(SourceStopping.class, 18);
        return kryo;
    }

    private ControlCodec() {
    }

    /** long[] as a count and fixed 8-byte values; a count larger than the bytes left is refused before allocating. */
    private static final class BoundedLongArraySerializer extends com.esotericsoftware.kryo.Serializer<long[]> {
        @Override
        public void write(Kryo kryo, Output out, long[] array) {
            out.writeVarInt(array.length, true);
            out.writeLongs(array, 0, array.length);
        }

        @Override
        public long[] read(Kryo kryo, Input in, Class<? extends long[]> type) {
            int n = in.readVarInt(true);
            long left = (long) in.limit() - in.position();
            if (n < 0 || (long) n * 8 > left) {
                throw new IllegalArgumentException("long[] length: " + n + " (expected: <= " + left / 8
                        + ", the bytes left)");
            }
            return in.readLongs(n);
        }
    }

    /** The CONTROL frame carrying {@code message}, for a peer of this version. */
    public static JourneyMessage.Control encode(ControlMessage message) {
        return encode(message, JourneyProtocol.VERSION);
    }

    /** The CONTROL frame carrying {@code message}, with the fields a peer of {@code peerProtocolVersion} can read. */
    public static JourneyMessage.Control encode(ControlMessage message, int peerProtocolVersion) {
        Pool<Kryo> pool = peerProtocolVersion < JourneyProtocol.GENERATION_IN_HELLO ? VERSION_3_KRYOS : KRYOS;
        Kryo kryo = pool.obtain();
        try (Output out = new Output(256, MAX_BYTES)) {
            kryo.writeClassAndObject(out, message);
            return new JourneyMessage.Control(out.toBytes());
        } finally {
            pool.free(kryo);
        }
    }

    /**
     * The message of a CONTROL frame.
     *
     * @throws JourneyProtocolException when the bytes are not one registered control message
     */
    public static ControlMessage decode(JourneyMessage.Control frame) {
        byte[] body = frame.body();
        if (body.length > MAX_BYTES) {
            throw new JourneyProtocolException("control: " + body.length + " bytes (expected: <= " + MAX_BYTES + ")");
        }
        Kryo kryo = KRYOS.obtain();
        try (Input in = new Input(body)) {
            Object o = kryo.readClassAndObject(in);
            if (in.position() != body.length) {
                throw new JourneyProtocolException("control: " + (body.length - in.position())
                        + " trailing bytes (expected: 0)");
            }
            if (o instanceof ControlMessage m) {
                return m;
            }
            throw new JourneyProtocolException("control: " + (o == null ? "null" : o.getClass().getSimpleName())
                    + " (expected: a control message)");
        } catch (KryoException | IllegalArgumentException e) {
            throw new JourneyProtocolException("control: undecodable (" + e.getMessage() + ")");
        } finally {
            KRYOS.free(kryo);
        }
    }
}
