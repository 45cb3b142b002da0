#!/usr/bin/python3
# Test writer on a real NBD client (libnbd): writes numbered blocks and appends the number of each
# write the server acknowledged to ACKFILE, so a test can check that every acknowledged write
# survived a crash.
#   nbd_writer.py blocks URI ACKFILE FIRST COUNT BLOCK_BYTES   block i = bytes([i % 251 + 1]) at i * BLOCK_BYTES
#   nbd_writer.py random URI SECONDS RATE_PER_S SEED            4 KiB random writes for SECONDS (load during an outage)
#   nbd_writer.py logdata LOG_URI DATA_URI COUNT [BASE]            record i (4 KiB of i as 8-byte little-endian) at
#                                                                  BASE + i * 4096 on the log volume, flush, then on
#                                                                  the data volume, flush: data i never before log i
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
elif mode == "logdata":
    data, count = nbd.NBD(), int(sys.argv[4])
    base = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    data.connect_uri(sys.argv[3])
    for i in range(1, count + 1):
        record = i.to_bytes(8, "little") * 512
        h.pwrite(record, base + i * 4096)
        h.flush()
        data.pwrite(record, base + i * 4096)
        data.flush()
    data.shutdown()
    print(f"wrote {count} pairs")
else:
    sys.exit("mode: " + mode + " (expected: blocks, random or logdata)")
h.shutdown()
