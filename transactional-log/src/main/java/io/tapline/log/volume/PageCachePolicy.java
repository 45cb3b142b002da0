package io.tapline.log.volume;

/**
 * What a volume file does with the page-cache pages its writes dirty. Durability is the same in
 * every policy: only {@link BlockVolume#force} makes writes durable; a policy decides when the
 * kernel writes dirty pages back and whether they stay cached after.
 */
public enum PageCachePolicy {
    /**
     * Pages stay cached and the kernel writes them back when it chooses: once they are 30 s old
     * or the dirty limits are reached, gigabytes at a time, stalling every other sync on the disk
     * while it does (docs/benchmarks.md#primary-paced).
     */
    KERNEL,
    /**
     * Pages stay cached, and their writeback is started early: a write of 64 KiB or more at once
     * (at most 8 MiB of them in flight), smaller ones every 16 MiB written. Few pages are ever
     * dirty, so the kernel never flushes in bursts; reads of recent writes still come from the
     * cache (docs/benchmarks.md#primary-paced-default).
     */
    PACED,
    /**
     * As nbdkit's file plugin {@code cache=none}: each write's writeback is started at once, and
     * its pages are dropped once on disk, eight writes later. Writes pace at the disk's rate and
     * reuse a few warm pages; reads of recent writes go to the disk.
     */
    DROPPED
}
