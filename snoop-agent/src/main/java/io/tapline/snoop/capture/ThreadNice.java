package io.tapline.snoop.capture;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raises the calling thread's scheduling priority ({@code setpriority(2)} on its own thread id,
 * which Linux applies to that thread alone). The live capture thread asks for it: it does little
 * per packet, but when the machine is busy (the initiator, the target, the decoder and a JIT all
 * on two cores) a capture thread left waiting for a core lets the kernel ring overflow, while
 * tcpdump, doing even less, gets through. Needs root or CAP_SYS_NICE; without them the thread
 * keeps its priority and one line says so.
 */
final class ThreadNice {
    private static final Logger log = LoggerFactory.getLogger(ThreadNice.class);
    private static final int PRIO_PROCESS = 0;

    private ThreadNice() {
    }

    /** The two libc calls needed. */
    interface LibC extends Library {
        int gettid();

        int setpriority(int which, int who, int prio);
    }

    /**
     * Sets the calling thread's nice value to {@code nice} (-20 to 19; lower runs first).
     *
     * @return whether it was set
     */
    static boolean raiseCurrentThread(int nice) {
        try {
            LibC c = Native.load("c", LibC.class);
            int tid = c.gettid();
            if (c.setpriority(PRIO_PROCESS, tid, nice) != 0) {
                log.info("capture thread keeps its priority (setpriority: errno {}; needs root or CAP_SYS_NICE)",
                        Native.getLastError());
                return false;
            }
            log.debug("capture thread tid={} nice={}", tid, nice);
            return true;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            log.info("capture thread keeps its priority error={}", e.toString());
            return false;
        }
    }
}
