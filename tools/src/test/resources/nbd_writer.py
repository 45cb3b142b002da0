#!/usr/bin/python3
# Test writer on a real NBD client (libnbd): writes numbered blocks and appends the number of each
# write the server acknowledged to ACKFILE, so a test can check that every acknowledged write
# survived a crash.
#   nbd_writer.py blocks URI ACKFILE FIRST COUNT BLOCK_BYTES   block i = bytes([i % 251 + 1]) at i * BLOCK_BYTES
#   nbd_writer.py random URI SECONDS RATE_PER_S SEED            4 KiB random writes for SECONDS (load during an outage)
import random, sys, time
import nbd

mode, uri = sys.argv[1], sys.argv[2]
h = nbd.NBD()
h.connect_uri(uri)
if mode == "blocks":
    ackfile, first, count, bs = sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    with open(ackfile, "a") as acks:
        for i in range(first, first + count):
            h.pwrite(bytes([i % 251 + 1]) * bs, i * bs)
            acks.write(f"{i}\n")
            acks.flush()
elif mode == "random":
    seconds, rate, seed = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rnd = random.Random(seed)
    blocks = h.get_size() // 4096
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for _ in range(rate // 10):
            h.pwrite(bytes([rnd.randrange(1, 256)]) * 4096, rnd.randrange(blocks) * 4096)
            n += 1
        h.flush()
        time.sleep(0.1)
    print(f"wrote {n}")
else:
    sys.exit("mode: " + mode + " (expected: blocks or random)")
h.shutdown()
