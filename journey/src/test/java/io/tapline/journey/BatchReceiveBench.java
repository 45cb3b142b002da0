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
 * a replayer's event loop reads them from a socket. Prints, per round of 1 GiB, the wall time and
 * the CPU of the decoding thread and of the process, then the median of the rounds after the
 * first three (the JIT's). Not a test: run by {@code bench/batch_receive.sh}.
 */
public final class BatchReceiveBench {
    private static final int READ_BYTES = 64 << 10;

    private BatchReceiveBench() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 12;
        byte[] wire = frame();
        int frames = (int) ((1L << 30) / wire.length);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double[] thread = new double[rounds];
        double[] process = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
            long t0 = System.nanoTime();
            long c0 = threads.getCurrentThreadCpuTime();
            long p0 = os.getProcessCpuTime();
            long bytes = 0;
            for (int f = 0; f < frames; f++) {
                for (int at = 0; at < wire.length; at += READ_BYTES) {
                    int n = Math.min(READ_BYTES, wire.length - at);
                    ByteBuf read = ByteBufAllocator.DEFAULT.directBuffer(READ_BYTES).writeBytes(wire, at, n);
                    ch.writeInbound(read);
                    for (Object m; (m = ch.readInbound()) != null; ) {
                        bytes += ((JourneyMessage.Batch) m).body().length;
                    }
                }
            }
            thread[round] = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
            process[round] = (os.getProcessCpuTime() - p0) / 1e9;
            System.out.printf("round %2d: %d MiB of batches in %.3f s; CPU: decoding thread %.3f s, process %.3f s%n",
                    round, bytes >> 20, (System.nanoTime() - t0) / 1e9, thread[round], process[round]);
            ch.finishAndReleaseAll();
        }
        System.out.printf("median of rounds 3-%d, CPU per GiB received: decoding thread %.3f s, process %.3f s%n",
                rounds - 1, median(thread), median(process));
    }

    private static double median(double[] all) {
        double[] warm = Arrays.copyOfRange(all, Math.min(3, all.length - 1), all.length);
        Arrays.sort(warm);
        return warm[warm.length / 2];
    }

    /** One encoded BATCH frame of four 1 MiB WRITE records. */
    private static byte[] frame() {
        JourneyMessage.Batch batch = BatchCodec.pack(1, TestRecords.writes("vol1", 1, 4, 1 << 20, false));
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyEncoder());
        ch.writeOutbound(batch);
        ByteBuf buf = ch.readOutbound();
        byte[] wire = new byte[buf.readableBytes()];
        buf.readBytes(wire);
        buf.release();
        ch.finishAndReleaseAll();
        return wire;
    }
}
