#!/usr/bin/env bash
# Whether recycling the capture buffer's segment files would make its appends cheaper on this
# machine, measured before building it (issue 14's first lead: "preallocated segment files
# recycled after every remote acknowledged them, as PostgreSQL recycles WAL segments").
# Writes the same bytes the three ways a segment could be written, with dd, in rounds that
# alternate the ways, and prints each run and the median ratio to the append into a new file:
#   direct    1 MiB O_DIRECT writes (the buffer's large appends): into a new file (extending it),
#             over a file written before (a recycled segment), into a fallocated file;
#   buffered  64 KiB writes through the page cache (the buffer's small appends, one gathering
#             write per run of records): into a new file, over a file written before, page cache
#             dropped before each run;
#   pressure  1 GiB as buffered, right after 3 GiB of other dirty data (a wedge whose primary and
#             buffer outrun writeback); bimodal here (0.2-0.6 s or 1.9-2.4 s, by where writeback
#             stands), so it wants many rounds (docs/benchmarks.md#segment-recycling).
# Each run starts from its own state; odd rounds run the new file first, even rounds last.
# Root (drops the page cache). Usage: bench/append_vs_overwrite.sh [ROUNDS=3] [WORKDIR=/var/tmp/tapline-append]
# WORKDIR must be on the file system under test (not a tmpfs). Needs: coreutils, util-linux.
set -euo pipefail
ROUNDS=${1:-3}; W=${2:-/var/tmp/tapline-append}
[ "$(id -u)" = 0 ] || { echo "append_vs_overwrite: run as root (drops the page cache)" >&2; exit 1; }
rm -rf "$W"; mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
if [ "$(stat -f -c %T "$W")" = tmpfs ]; then echo "append_vs_overwrite: $W is a tmpfs" >&2; exit 1; fi
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@"; awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
ddw() { dd if=/dev/zero status=none "$@"; }
declare -A runs
add() { runs[$1]="${runs[$1]:-} $2"; printf '  %-28s %s s\n' "$1" "$2"; }

# One measurement, each from its own start (files made, page cache dropped; for "pressure", 3 GiB
# of other data dirty first), so that the order of a round does not favour one way.
measure() {  # WAY HOW
  rm -f "$W"/*
  case $1 in
    direct)
      case $2 in
        "over written") ddw of="$W/f" bs=1M count=2048 ;;
        "into fallocated") fallocate -l 2G "$W/f" ;;
      esac
      drop; timed ddw of="$W/f" bs=1M count=2048 oflag=direct conv=notrunc ;;
    buffered)
      [ "$2" = "over written" ] && ddw of="$W/f" bs=1M count=512
      drop; timed ddw of="$W/f" bs=64k count=8192 conv=notrunc ;;
    pressure)
      [ "$2" = "over written" ] && ddw of="$W/f" bs=1M count=1024
      drop; ddw of="$W/dirty" bs=1M count=3072
      timed ddw of="$W/f" bs=64k count=16384 conv=notrunc ;;
  esac
}

for r in $(seq "$ROUNDS"); do
  echo "round $r"
  for way in direct buffered pressure; do
    hows=("new file" "over written")
    [ "$way" = direct ] && hows+=("into fallocated")
    if [ $((r % 2)) = 0 ]; then hows=("${hows[@]:1}" "${hows[0]}"); fi # alternate which goes first
    for how in "${hows[@]}"; do add "$way $how" "$(measure "$way" "$how")"; done
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "medians of $ROUNDS rounds (time; ratio to the new file's: below 1 means recycling would help)"
for way in direct buffered pressure; do
  base=$(echo "${runs[$way new file]}" | median)
  for how in "new file" "over written" "into fallocated"; do
    [ -n "${runs[$way $how]:-}" ] || continue
    m=$(echo "${runs[$way $how]}" | median)
    awk -v w="$way $how" -v m="$m" -v b="$base" 'BEGIN{printf "  %-28s %6.2f s  %5.2fx\n", w, m, m/b}'
  done
done
