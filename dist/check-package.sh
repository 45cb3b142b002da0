#!/usr/bin/env bash
# Installs the Debian package that `mvn package` built (dist/target/tapline_*_all.deb) on this
# machine with apt-get, checks what it installed, then purges it again. Root only; about 30 s.
#
# Checks: /usr/bin/tapline --version prints the project version; --help works; the man pages
# render; bash completion completes subcommands; the three systemd template units pass
# `systemd-analyze verify` with no complaint at all (it only warns on unknown keys, so any output
# fails); the tapline user and /var/lib/tapline exist; and the roles really run as that user with
# the privileges their units grant: a replayer and a wedge from the example configurations (ports
# moved to free ones) as tapline with no capability, a write through the wedge reaching the
# replica byte for byte, and a snoop with CAP_NET_RAW alone capturing that write on lo.
#
# Refuses to run when tapline is already installed (it would replace and purge that install).
# The purge keeps the tapline user and /var/lib/tapline, as any purge does; the directory this
# check used under it (check-package/) is deleted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

fail() { echo "check-package: FAILED: $*${logs:+ (logs: $logs)}" >&2; exit 1; }

# shellcheck disable=SC2012 # our own file names; newest first
deb=$(ls -t "$root"/dist/target/tapline_*_all.deb 2>/dev/null | head -1 || true)
[ -n "$deb" ] || fail "no dist/target/tapline_*_all.deb (run: mvn package)"
version=$(sed -n 's|^  <version>\(.*\)</version>$|\1|p' "$root/pom.xml" | head -1)
[ -n "$version" ] || fail "project version not found in $root/pom.xml"
if dpkg-query -W -f='${Status}' tapline 2>/dev/null | grep -q 'install ok installed'; then
  fail "tapline is already installed here; remove it first (apt-get remove tapline)"
fi
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (apt-get install systemd)"

pids=()
work=/var/lib/tapline/check-package
logs=$(mktemp -d /tmp/check-package.XXXXXX)
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  done
  rm -rf "$work" /etc/tapline/replay-check.conf /etc/tapline/wedge-check.conf
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tapline >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Waits until something listens on TCP port $1 (30 s: JVM start-up on a loaded machine).
await_port() {
  for _ in $(seq 300); do
    ss -Hltn "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  fail "nothing listening on port $1 after 30 s"
}
# Picks a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

echo "check-package: installing $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null

out=$(/usr/bin/tapline --version | head -1)
[[ $out == "tapline $version, built "* ]] || fail "--version printed '$out' (expected: tapline $version, built ...)"
echo "check-package: $out"
/usr/bin/tapline --help | grep -q '^Usage: tapline' || fail "--help printed no usage"

# The class-data archive postinst built: present, and taken by the launcher's JVM (Tapline's own
# classes come from the archive: the JDK's default archive has none), with nothing on stderr.
[ -s /var/cache/tapline/tapline.jsa ] || fail "postinst built no /var/cache/tapline/tapline.jsa"
TAPLINE_JAVA_OPTS="-Xlog:class+load=info:file=$logs/class-load.txt" /usr/bin/tapline status \
  --buffer "$logs/no-buffer" --json >/dev/null 2>"$logs/cds.err" || true
grep -q 'io.tapline.tools.TaplineCli source: shared objects file' "$logs/class-load.txt" \
  || fail "the launcher's JVM did not take the class-data archive: $(grep -m1 'TaplineCli' "$logs/class-load.txt")"
if grep -qiE 'shared archive|sharing|\[(warning|error)\]' "$logs/cds.err"; then
  fail "the class-data archive is refused or noisy: $(head -3 "$logs/cds.err")"
fi
echo "check-package: the class-data archive is built and taken"

# The quick commands look nothing up that no jar has: one such miss, or a ServiceLoader scan, opens
# every jar of the class path (47: 30-40 ms of a start; docs/benchmarks.md#cli-class-path-walks).
# Each may open tapline-tools.jar for a resource (the build's properties), no other.
jars_opened() {
  strace -f -e trace=openat -o "$logs/opens.txt" /usr/bin/tapline "$@" >/dev/null 2>&1 || true
  grep -c '\.jar"' "$logs/opens.txt" || true
}
for quick in "status --buffer $logs/no-buffer --json" "mark --buffer $logs/no-buffer --volume v none" \
    "rollback --remote 127.0.0.1:1 --volume v --to-mark none" "--version"; do
  # shellcheck disable=SC2086 # each entry is one command's words
  n=$(jars_opened $quick)
  [ "$n" -le 1 ] || fail "tapline $quick opened $n jars (expected: at most 1): $(grep '\.jar"' "$logs/opens.txt" | head -3)"
done
echo "check-package: the quick commands open at most one jar"

# Servers ask for transparent huge pages for the heap where the kernel offers them (madvise or
# always); control commands never do (docs/benchmarks.md#first-touch).
thp_flag() { TAPLINE_JAVA_OPTS=-XX:+PrintFlagsFinal /usr/bin/tapline "$@" 2>/dev/null \
  | awk '$2 == "UseTransparentHugePages" { print $4 }'; }
thp_sys=/sys/kernel/mm/transparent_hugepage/enabled
if [ -r "$thp_sys" ] && ! grep -q '\[never\]' "$thp_sys"; then
  [ "$(thp_flag replay --help)" = true ] || fail "tapline replay runs without transparent huge pages ($(cat "$thp_sys"))"
  echo "check-package: servers ask for transparent huge pages"
fi
[ "$(thp_flag status --help)" = false ] || fail "tapline status asks for transparent huge pages"

for page in tapline tapline-replay tapline-wedge tapline-snoop; do
  MANWIDTH=100 man -P cat "$page" 2>/dev/null | grep -q "^NAME" || fail "man $page does not render"
done
MANWIDTH=100 man -P cat tapline-replay | grep -q -- '--listen' || fail "man tapline-replay lacks --listen"

completion=$(bash -c 'source /usr/share/bash-completion/completions/tapline
  COMP_WORDS=(tapline rep); COMP_CWORD=1; COMP_LINE="tapline rep"; COMP_POINT=${#COMP_LINE}
  _complete_tapline 2>/dev/null; echo "${COMPREPLY[*]}"')
[ "$completion" = replay ] || fail "bash completion of 'tapline rep' gave '$completion' (expected: replay)"

for role in replay wedge snoop; do
  unit=/usr/lib/systemd/system/tapline-$role@.service
  complaints=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $complaints"
  [ -z "$complaints" ] || fail "systemd-analyze verify $unit complained: $complaints"
done
echo "check-package: systemd-analyze verify: the three template units pass"

getent passwd tapline >/dev/null || fail "no tapline user"
[ "$(stat -c %U /var/lib/tapline)" = tapline ] || fail "/var/lib/tapline is not owned by tapline"
grep -qx /etc/tapline/replay-example.conf /var/lib/dpkg/info/tapline.conffiles \
  || fail "/etc/tapline/replay-example.conf is not a conffile"

# The roles as their units run them (User=tapline; the snoop with CAP_NET_RAW alone).
link=$(free_port); nbd=$(free_port)
install -d -o tapline -g tapline -m 0750 "$work"
sed -e "s|127.0.0.1:7070|127.0.0.1:$link|" -e "s|/var/lib/tapline/replicas|$work/replicas|" \
  /etc/tapline/replay-example.conf > /etc/tapline/replay-check.conf
sed -e "s|127.0.0.1:7070|127.0.0.1:$link|" -e "s|127.0.0.1:10809|127.0.0.1:$nbd|" \
  -e "s|/var/lib/tapline/vol1.img|$work/vol1.img|" -e "s|/var/lib/tapline/buffer|$work/buffer|" \
  -e "s|--size 4G|--size 64M|" /etc/tapline/wedge-example.conf > /etc/tapline/wedge-check.conf
as_tapline=(setpriv --reuid=tapline --regid=tapline --init-groups --no-new-privs
  --bounding-set=-all --inh-caps=-all env -i PATH=/usr/bin:/bin)
# shellcheck disable=SC2054 # the commas belong to setpriv's capability lists
as_tapline_net_raw=(setpriv --reuid=tapline --regid=tapline --init-groups --no-new-privs
  --bounding-set=-all,+net_raw --inh-caps=-all,+net_raw --ambient-caps=-all,+net_raw env -i PATH=/usr/bin:/bin)

"${as_tapline[@]}" /usr/bin/tapline replay @/etc/tapline/replay-check.conf >"$logs/replay.log" 2>&1 &
pids+=($!)
await_port "$link"
"${as_tapline[@]}" /usr/bin/tapline wedge @/etc/tapline/wedge-check.conf >"$logs/wedge.log" 2>&1 &
pids+=($!)
await_port "$nbd"
"${as_tapline_net_raw[@]}" /usr/bin/tapline snoop --interface lo --filter "tcp port $nbd" \
  --buffer "$work/snoop-buffer" >"$logs/snoop.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -qs 'capturing on lo' "$logs/snoop.log" && break; sleep 0.1; done
grep -q 'capturing on lo' "$logs/snoop.log" || fail "snoop with CAP_NET_RAW did not start: $(cat "$logs/snoop.log")"

qemu-io -f raw -c 'write -P 0xab 0 1M' "nbd://127.0.0.1:$nbd/vol1" >/dev/null \
  || fail "write through the wedge failed: $(tail -3 "$logs/wedge.log")"
"${as_tapline[@]}" /usr/bin/tapline status --buffer "$work/buffer" --wait-synced 30 >/dev/null \
  || fail "replica not synced within 30 s: $(tail -3 "$logs/replay.log")"
cmp -s "$work/vol1.img" "$work/replicas/vol1/replica.img" || fail "replica differs from the volume"
[ "$(stat -c %U "$work/replicas/vol1/replica.img")" = tapline ] || fail "replica not owned by tapline"
echo "check-package: replayer and wedge ran as tapline from the example configs; the replica matches"

captured=""
for _ in $(seq 300); do
  captured=$("${as_tapline[@]}" /usr/bin/tapline status --buffer "$work/snoop-buffer" 2>/dev/null \
    | sed -n 's/.* mode [A-Z_]*  *captured \([0-9][0-9]*\) .*/\1/p' | head -1)
  [ -n "$captured" ] && [ "$captured" -ge 1 ] && break
  sleep 0.1
done
if [ -z "$captured" ] || [ "$captured" -lt 1 ]; then
  fail "snoop captured nothing: $(tail -3 "$logs/snoop.log")"
fi
echo "check-package: snoop ran as tapline with CAP_NET_RAW only and captured the write"

rm -rf "$logs"
echo "check-package: ok"
