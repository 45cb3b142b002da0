#!/usr/bin/env bash
# How long the operator's quick commands take to start and answer (issue 14: `status`, `mark`,
# `rollback` in <= 0.3 s), against the floor of any Java command on this machine (`java -version`
# with the same flags) measured in the same run. Each command is timed three ways, RUNS times,
# interleaved:
#   launcher  ./tapline as an operator runs it (the repository's launcher, then the JVM);
#   JVM       the java command line that launcher execs, run directly (what the package's
#             /usr/bin/tapline runs, less its own few lines of shell);
#   shell     the launcher alone, its java replaced by a no-op (the launcher's own share).
# The commands do no work that needs a peer: status of a missing buffer, mark into a missing
# buffer, rollback against a closed port of 127.0.0.1 (it stops at the connect, after building its
# request and loading Netty's codec), --version; each exits as it would for an operator who typed
# it wrong, which is the start-up and no more. Prints each command's median in ms for the three
# ways, the floor's median and fastest, the verdict against the target, and (with strace) how many
# jars of the class path the JVM opened: each lookup that misses opens all of them, tens of ms
# (docs/benchmarks.md#cli-class-path-walks); 0-1 is the expected count.
# The verdict takes the package's figure when it is installed and the same build, else ./tapline's.
# Usage: bench/cli_start.sh [RUNS=7]   Needs: Java 17 + Maven (./tapline builds itself), GNU time.
set -euo pipefail
RUNS=${1:-7}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$here/tapline" --version >/dev/null # builds the CLI and its class-data archive once, untimed
mkdir -p "$W/capture" "$W/noop"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/args"\n' "$W" >"$W/capture/java" # records the java command line
printf '#!/bin/sh\nexit 0\n' >"$W/noop/java"
chmod +x "$W/capture/java" "$W/noop/java"

commands=(
  "status --buffer $W/missing --json"
  "mark --buffer $W/missing --volume bench none"
  "rollback --remote 127.0.0.1:1 --volume bench --to-mark none"
  "--version"
)
timed() { /usr/bin/time -o "$W/t" -f %e "$@" >/dev/null 2>&1 || true; tail -n 1 "$W/t" | awk '{printf "%d", $1 * 1000}'; }
declare -A runs
pkg=/usr/bin/tapline # the package's launcher, when installed
if ! grep -qs 'installed by the tapline package' "$pkg"; then pkg=""; fi
pkg_build=""
if [ -n "$pkg" ]; then
  pkg_build="another build"
  if cmp -s /usr/share/tapline/tapline-tools.jar "$here/tools/target/tapline-tools.jar"; then pkg_build="this build"; fi
fi
add() { runs[$1]="${runs[$1]:-} $2"; }
floor_flags=(-Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC)
# The java command line the launcher runs for each command, recorded once: it is the same every round.
for i in "${!commands[@]}"; do
  read -r -a words <<<"${commands[$i]}"
  PATH="$W/capture:$PATH" "$here/tapline" "${words[@]}" >/dev/null 2>&1 || true
  mv "$W/args" "$W/args.$i"
done
for r in $(seq "$RUNS"); do
  add "java -version" "$(timed java "${floor_flags[@]}" -version)"
  for i in "${!commands[@]}"; do
    c=${commands[$i]}
    read -r -a words <<<"$c"
    mapfile -t jargs <"$W/args.$i"
    add "$c|launcher" "$(timed "$here/tapline" "${words[@]}")"
    if [ -n "$pkg" ]; then add "$c|package" "$(timed "$pkg" "${words[@]}")"; fi
    add "$c|jvm" "$(timed java "${jargs[@]}")"
    add "$c|shell" "$(PATH="$W/noop:$PATH" timed "$here/tapline" "${words[@]}")"
  done
  printf 'round %d of %d done\n' "$r" "$RUNS" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
fastest() { tr ' ' '\n' | grep -v '^$' | sort -n | head -1; }
f=$(echo "${runs[java -version]}" | median)
printf 'floor: java -version (same flags) median %d ms, fastest %d ms; %d runs each, target 300 ms\n' \
  "$f" "$(echo "${runs[java -version]}" | fastest)" "$RUNS"
jars() { # jars the JVM opens running the java line $1 records; "-" without strace
  if ! command -v strace >/dev/null; then echo -; return; fi
  mapfile -t jargs <"$1"
  strace -f -e trace=openat -o "$W/strace" java "${jargs[@]}" >/dev/null 2>&1 || true
  grep -c '\.jar"' "$W/strace" || true
}
[ -z "$pkg" ] || printf 'package: %s installed, %s\n' "$pkg" "$pkg_build"
printf '%-62s %9s %9s %9s %9s %8s %5s %s\n' command package launcher JVM shell "JVM-floor" jars verdict
for i in "${!commands[@]}"; do
  c=${commands[$i]}
  l=$(echo "${runs[$c|launcher]}" | median); j=$(echo "${runs[$c|jvm]}" | median)
  sh=$(echo "${runs[$c|shell]}" | median)
  p="-"; [ -z "$pkg" ] || p="$(echo "${runs[$c|package]}" | median) ms"
  if [ "$pkg_build" = "this build" ]; then
    v="met through the package"; [ "${p% ms}" -le 300 ] || v="not met through the package"
    [ "$l" -le 300 ] || v="$v, not through ./tapline"
  else
    v="met"; [ "$l" -le 300 ] || v="not met through ./tapline"; [ "$j" -le 300 ] || v="not met"
  fi
  printf '%-62s %9s %6d ms %6d ms %6d ms %5d ms %5s %s\n' "${c/$W/DIR}" "$p" "$l" "$j" "$sh" $((j - f)) "$(jars "$W/args.$i")" "$v"
done
echo "(medians; package = /usr/bin/tapline, launcher = ./tapline, JVM = the java line ./tapline execs, shell = ./tapline with a no-op java; jars = jars opened)"
