package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * The receiving side of a journey link alone: BATCH frames of 4 MiB (incompressible records of
 * 1 MiB) fed to a {@link JourneyDecoder} in 64 KiB direct buffers from the default allocator, as
 * a replayer's event loop reads them from a socket: each frame beginning a read ("aligned", the
 * default: a sender that pauses after each batch) or one stream of frames back to back read
 * 64 KiB at a time ("stream": a sender at full speed). Prints, per round of 1 GiB, the wall time and
 * the CPU of the decoding thread and of the process, then the median of the rounds after the
 * first three (the JIT's). Not a test: run by {@code bench/batch_receive.sh}.
 */
public final class BatchReceiveBench {
    private static final int READ_BYTES = 64 << 10;

    private BatchReceiveBench() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 12;
        boolean stream = args.length > 1 && args[1].equals("stream");
        // One encoded BATCH frame of four 1 MiB WRITE records.
        byte[] wire = TestFrames.encoded(BatchCodec.pack(1, TestRecords.writes("vol1", 1, 4, 1 << 20, false)));
        int frames = (int) ((1L << 30) / wire.length);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double[] thread = new double[rounds];
        double[] process = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            JourneyDecoder decoder = new JourneyDecoder();
            admit(decoder);
            EmbeddedChannel ch = new EmbeddedChannel(decoder);
            long t0 = System.nanoTime();
            long c0 = threads.getCurrentThreadCpuTime();
            long p0 = os.getProcessCpuTime();
            long bytes = 0;
            // Reads of READ_BYTES over the frames back to back: aligned, a read ends where its frame
            // does (the buffer is released after each frame); stream, reads end inside frames.
            long end = (long) frames * wire.length;
            for (long at = 0; at < end; ) {
                int inFrame = (int) (at % wire.length);
                int n = (int) Math.min(READ_BYTES, stream ? end - at : wire.length - inFrame);
                int first = Math.min(n, wire.length - inFrame);
                ByteBuf read = ByteBufAllocator.DEFAULT.directBuffer(READ_BYTES).writeBytes(wire, inFrame, first)
                        .writeBytes(wire, 0, n - first);
                bytes += received(ch, read);
                at += n;
            }
            thread[round] = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
            process[round] = (os.getProcessCpuTime() - p0) / 1e9;
            System.out.printf("%s round %2d: %d MiB of batches in %.3f s; CPU: thread %.3f s, process %.3f s%n",
                    stream ? "stream" : "aligned", round, bytes >> 20, (System.nanoTime() - t0) / 1e9, thread[round],
                    process[round]);
            ch.finishAndReleaseAll();
        }
        System.out.printf("%s: median of rounds 3-%d, CPU per GiB received: decoding thread %.3f s, process %.3f s%n",
                stream ? "stream" : "aligned", rounds - 1, median(thread), median(process));
    }

    /** As a replayer's session does after a HELLO; a build without the call (a base to compare) goes on. */
    private static void admit(JourneyDecoder decoder) {
        try {
            JourneyDecoder.class.getMethod("setAsideRoomForBatches").invoke(decoder);
        } catch (ReflectiveOperationException e) {
            // an older decoder: it never sets room aside
        }
    }

    /** Feeds {@code read} as one socket read; returns the body bytes of the batches it completed. */
    private static long received(EmbeddedChannel ch, ByteBuf read) {
        ch.writeInbound(read);
        long bytes = 0;
        for (Object m; (m = ch.readInbound()) != null; ) {
            bytes += ((JourneyMessage.Batch) m).body().length;
        }
        return bytes;
    }

    private static double median(double[] all) {
        double[] warm = Arrays.copyOfRange(all, Math.min(3, all.length - 1), all.length);
        Arrays.sort(warm);
        return warm[warm.length / 2];
    }
}
