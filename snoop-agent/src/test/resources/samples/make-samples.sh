#!/usr/bin/env bash
# make-samples.sh - makes the snoop-agent sample captures with real peers on 127.0.0.1.
#
#   iSCSI: tgtd (file-backed LUN, 512-byte blocks, tgtd defaults) and the libiscsi initiator of
#          qemu-img / qemu-io;
#   NBD:   nbdkit (file plugin) and qemu-nbd, each driven by libnbd (python3 -m nbd);
#
# every exchange recorded with `tcpdump -i lo -s 0 -w`. Every byte written comes from a fixed seed,
# so a remake writes the same data (the pcaps differ only in timestamps, client ports and TCP
# segmentation). After each run the backing file is checked against what was written, and the
# expected-content files (*.cmds.txt, *.writes.txt, expected.properties) are written next to the pcaps.
#
# Usage (root; Debian 12):
#   apt-get install -y tgt qemu-utils qemu-block-extra nbdkit libnbd-bin python3-libnbd tcpdump
#   snoop-agent/src/test/resources/samples/make-samples.sh [OUT_DIR]     (default: this script's folder)
#
# Ports (127.0.0.1 only; the script refuses to start if one is taken): ISCSI_PORT=13260,
# NBDKIT_PORT=13809, QEMUNBD_PORT=13810, tgtd management channel TGT_CONTROL_PORT=13.
# The tests name these ports in their volume names; change them here and there together.
# Every peer the script starts (tgtd, nbdkit, qemu-nbd, tcpdump) is stopped on exit, by its pid.
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
OUT=$(readlink -f "${1:-$HERE}")
ISCSI_PORT=${ISCSI_PORT:-13260}
NBDKIT_PORT=${NBDKIT_PORT:-13809}
QEMUNBD_PORT=${QEMUNBD_PORT:-13810}
TGT_CONTROL_PORT=${TGT_CONTROL_PORT:-13}
IQN=iqn.2024-01.io.tapline:samples
LUN_MIB=256
SEQ_MIB=4
NBD_EXPORT_MIB=64
# Debian's python has the nbd module; a python3 earlier on PATH (pyenv) may not.
PY=/usr/bin/python3

for tool in tgtd tgtadm qemu-img qemu-io nbdkit qemu-nbd tcpdump ss "$PY"; do
    command -v "$tool" >/dev/null || { echo "make-samples: $tool: not found (expected: installed, see Usage)" >&2; exit 2; }
done
"$PY" -c 'import nbd' 2>/dev/null || { echo "make-samples: python3 nbd module: missing (expected: python3-libnbd)" >&2; exit 2; }
for port in "$ISCSI_PORT" "$NBDKIT_PORT" "$QEMUNBD_PORT"; do
    if [ -n "$(ss -Hltn "sport = :$port")" ]; then
        echo "make-samples: port $port: in use (expected: free; set ISCSI_PORT/NBDKIT_PORT/QEMUNBD_PORT)" >&2; exit 2
    fi
done
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/tapline-samples.XXXXXX)
TGTD_PID=""
TCPDUMP_PID=""

stop_tgtd() {
    [ -n "$TGTD_PID" ] || return 0
    # tgtd ignores SIGTERM: ask it to exit over its management channel, then kill -9 its pid.
    tgtadm -C "$TGT_CONTROL_PORT" --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
    tgtadm -C "$TGT_CONTROL_PORT" --op delete --mode system >/dev/null 2>&1 || true
    for _ in $(seq 30); do kill -0 "$TGTD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$TGTD_PID" 2>/dev/null || true
    wait "$TGTD_PID" 2>/dev/null || true
    TGTD_PID=""
}

stop_pidfile() {
    local f=$1 pid
    [ -s "$f" ] || return 0
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
}

start_capture() { # port pcap
    tcpdump -i lo -s 0 -B 262144 -w "$2" "tcp port $1" 2>"$WORK/tcpdump.log" &
    TCPDUMP_PID=$!
    for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
}

stop_capture() {
    [ -n "$TCPDUMP_PID" ] || return 0
    sleep 0.5
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    wait "$TCPDUMP_PID" 2>/dev/null || true
    TCPDUMP_PID=""
    grep -E "captured|dropped by kernel" "$WORK/tcpdump.log" | sed 's/^/  tcpdump: /'
    if ! grep -q "^0 packets dropped by kernel" "$WORK/tcpdump.log"; then
        echo "make-samples: tcpdump dropped packets (expected: 0 dropped)" >&2; exit 1
    fi
}

cleanup() {
    local rc=$?
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null || true; wait "$TCPDUMP_PID" 2>/dev/null || true; fi
    stop_tgtd
    stop_pidfile "$WORK/nbdkit.pid"
    stop_pidfile "$WORK/qemunbd.pid"
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- iSCSI -------------------------------------------------------------------------------------
start_tgtd() {
    truncate -s 0 "$WORK/lun.img"
    truncate -s "${LUN_MIB}M" "$WORK/lun.img"
    tgtd -f -C "$TGT_CONTROL_PORT" --iscsi portal="127.0.0.1:$ISCSI_PORT" >"$WORK/tgtd.log" 2>&1 &
    TGTD_PID=$!
    for _ in $(seq 50); do tgtadm -C "$TGT_CONTROL_PORT" --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
    tgtadm -C "$TGT_CONTROL_PORT" --lld iscsi --op new --mode target --tid 1 -T "$IQN"
    tgtadm -C "$TGT_CONTROL_PORT" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$WORK/lun.img" \
        --blocksize 512
    tgtadm -C "$TGT_CONTROL_PORT" --lld iscsi --op bind --mode target --tid 1 -I ALL
}

# "byte_offset pattern_byte" lines: N distinct 4 KiB-aligned blocks beyond the sequential region.
random_cmds() { # seed count
    "$PY" -c "
import random
r = random.Random($1)
lo = $SEQ_MIB * 256 + 16
hi = $LUN_MIB * 256
for i, block in enumerate(r.sample(range(lo, hi), $2)):
    print(block * 4096, i % 250 + 1)"
}

qemu_io_writes() { # cmds-file
    local args=() off pat
    while read -r off pat; do args+=(-c "write -P $pat $off 4k"); done <"$1"
    qemu-io -f raw "${args[@]}" "iscsi://127.0.0.1:$ISCSI_PORT/$IQN/1" >/dev/null
}

check_lun_patterns() { # cmds-file
    "$PY" - "$WORK/lun.img" "$1" <<'EOF'
import sys
image, cmds = sys.argv[1], sys.argv[2]
with open(image, "rb") as f:
    n = 0
    for line in open(cmds):
        off, pat = map(int, line.split())
        f.seek(off)
        if f.read(4096) != bytes([pat]) * 4096:
            sys.exit(f"make-samples: LUN block at {off}: differs (expected: 4096 x byte {pat})")
        n += 1
print(f"  LUN holds all {n} pattern writes")
EOF
}

echo "== sample_default.pcap: qemu-img convert ${SEQ_MIB} MiB @0, then qemu-io 200 x 4 KiB"
"$PY" -c "
import random, sys
sys.stdout.buffer.write(random.Random(20240101).randbytes($SEQ_MIB << 20))" >"$WORK/seq.bin"
SEQ_MD5=$(md5sum <"$WORK/seq.bin" | cut -d' ' -f1)
random_cmds 1 200 >"$OUT/sample_default.rand_cmds.txt"
start_tgtd
start_capture "$ISCSI_PORT" "$OUT/sample_default.pcap"
qemu-img convert -n -f raw --target-image-opts "$WORK/seq.bin" \
    "driver=iscsi,transport=tcp,portal=127.0.0.1:$ISCSI_PORT,target=$IQN,lun=1"
qemu_io_writes "$OUT/sample_default.rand_cmds.txt"
stop_capture
stop_tgtd
LUN_MD5=$(head -c "${SEQ_MIB}M" "$WORK/lun.img" | md5sum | cut -d' ' -f1)
[ "$LUN_MD5" = "$SEQ_MD5" ] || { echo "make-samples: LUN first ${SEQ_MIB} MiB md5: $LUN_MD5 (expected: $SEQ_MD5)" >&2; exit 1; }
echo "  LUN first ${SEQ_MIB} MiB md5 $LUN_MD5 = written"
check_lun_patterns "$OUT/sample_default.rand_cmds.txt"

echo "== iscsi_qemuio_200x4k_random.pcap: one qemu-io session, 200 x 4 KiB"
random_cmds 2 200 >"$OUT/iscsi_qemuio_200x4k_random.cmds.txt"
start_tgtd
start_capture "$ISCSI_PORT" "$OUT/iscsi_qemuio_200x4k_random.pcap"
qemu_io_writes "$OUT/iscsi_qemuio_200x4k_random.cmds.txt"
stop_capture
stop_tgtd
check_lun_patterns "$OUT/iscsi_qemuio_200x4k_random.cmds.txt"

# --- NBD ---------------------------------------------------------------------------------------
nbd_sample() { # server port
    local srv=$1 port=$2 img="$WORK/nbd_$1.img" writes="$OUT/nbd_sample_$1.writes.txt"
    echo "== nbd_sample_$srv.pcap: $srv on 127.0.0.1:$port, libnbd client"
    rm -f "$img"
    truncate -s "${NBD_EXPORT_MIB}M" "$img"
    case $srv in
        # nbdkit daemonises itself (-P): run in the foreground it dies with a launching shell's SIGHUP.
        nbdkit) nbdkit -P "$WORK/nbdkit.pid" --port "$port" -i 127.0.0.1 file "$img" ;;
        qemunbd) qemu-nbd -f raw --bind 127.0.0.1 -p "$port" -t --fork --pid-file "$WORK/qemunbd.pid" "$img" ;;
    esac
    for _ in $(seq 50); do [ -n "$(ss -Hltn "sport = :$port")" ] && break; sleep 0.1; done
    start_capture "$port" "$OUT/nbd_sample_$srv.pcap"
    WRITES="$writes" "$PY" -m nbd -u "nbd://127.0.0.1:$port" -c '
import os, random
r = random.Random(7)
assert h.get_structured_replies_negotiated()
ramp = bytes(range(256)) * 4096
h.pwrite(ramp, 0)                                   # WRITE 1 MiB @0
log = []
while len(log) < 20:                                # 20 x WRITE 4 KiB, block = pattern byte
    off = r.randrange(512, 16384) * 4096            # [2 MiB, 64 MiB), clear of the regions below
    if (8 << 20) <= off < (8 << 20) + 4096 or (32 << 20) <= off < (33 << 20) or (40 << 20) <= off < (41 << 20):
        continue
    if any(o == off for o, _ in log):
        continue
    h.pwrite(bytes([len(log) + 1]) * 4096, off)
    log.append((off, len(log) + 1))
h.pwrite(b"F" * 4096, 8 << 20, nbd.CMD_FLAG_FUA)    # WRITE 4 KiB with FUA @8 MiB
h.flush()                                           # FLUSH
h.trim(1 << 20, 32 << 20)                           # TRIM: libnbd takes (count, offset): 1 MiB @32 MiB
h.zero(1 << 20, 40 << 20)                           # WRITE_ZEROES: 1 MiB @40 MiB
assert h.pread(1 << 20, 0) == ramp                  # READ 1 MiB @0 (structured reply)
with open(os.environ["WRITES"], "w") as f:
    f.write("".join(f"{o} {p}\n" for o, p in log))
h.shutdown()                                        # DISC
'
    stop_capture
    stop_pidfile "$WORK/$srv.pid"
    "$PY" - "$img" "$writes" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
assert d[:1 << 20] == bytes(range(256)) * 4096, "image [0, 1 MiB): differs (expected: the ramp)"
n = 0
for line in open(sys.argv[2]):
    o, p = map(int, line.split())
    assert d[o:o + 4096] == bytes([p]) * 4096, f"image block {o}: differs (expected: 4096 x byte {p})"
    n += 1
assert d[8 << 20:(8 << 20) + 4096] == b"F" * 4096, "image block 8 MiB: differs (expected: 'F' x 4096)"
assert d[40 << 20:41 << 20] == bytes(1 << 20), "image [40 MiB, 41 MiB): differs (expected: zeroes)"
print(f"  image holds the ramp, all {n} pattern writes, the FUA write and the zeroes")
EOF
}
nbd_sample nbdkit "$NBDKIT_PORT"
nbd_sample qemunbd "$QEMUNBD_PORT"

# --- what the tests compare against ------------------------------------------------------------
cat >"$OUT/expected.properties" <<EOF
# Written by make-samples.sh on $(date -u +%Y-%m-%d); the tests read the md5 below.
iscsi.target=$IQN
iscsi.port=$ISCSI_PORT
nbdkit.port=$NBDKIT_PORT
qemunbd.port=$QEMUNBD_PORT
sample_default.seq.bytes=$((SEQ_MIB << 20))
sample_default.seq.md5=$SEQ_MD5
nbd.export.bytes=$((NBD_EXPORT_MIB << 20))
EOF
{
    echo "tgtd $(tgtd -V 2>&1 | head -1)"
    echo "libiscsi $(dpkg-query -W -f '${Version}' libiscsi7 2>/dev/null || echo '?')"
    qemu-img --version | head -1
    nbdkit --version | head -1
    qemu-nbd --version | head -1
    echo "libnbd $("$PY" -c 'import nbd; print(nbd.NBD().get_version())')"
    tcpdump --version 2>&1 | head -1
    echo "kernel $(uname -r)"
} >"$OUT/tool-versions.txt"
echo "== done: $OUT"
sed 's/^/  /' "$OUT/tool-versions.txt"
( cd "$OUT" && ls -l ./*.pcap ./*.txt expected.properties | awk '{print "  " $5 "\t" $9}' )
