#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Scale benchmark of ikeme-mediator: COUNT synthetic peers register (IKE_SA_INIT + IKE_AUTH with
# PSK, aes128-sha256-x25519, mediation connections) from the load client tests/bench/
# mediator_load over loopback, inside a network namespace of its own (so nothing else's ports
# or traffic are involved). Prints registrations per second (client's view, first initiation to
# last establishment), the client's CPU per registration, the server's CPU time per registration
# (all threads, and split into the event loop and the key-exchange workers of libuv's pool), its
# resident memory per registered peer (VmRSS after minus VmRSS before, the directory already
# loaded, over COUNT), and the 1-minute load average before and after (other work on the machine
# shows there).
#
# usage: tests/bench/mediator_scale.sh [COUNT [IKEME_MEDIATOR [MEDIATOR_LOAD [IKEMECTL]]]]
#   COUNT default 10000. Environment: KE_REUSE (server DH reuse lifetime in seconds, default 0 =
#   a fresh X25519 key per SA), KE_PREGENERATE (key pairs the server makes ahead per group on its
#   thread pool, default 256; 0 = each generated on the event loop), CLIENT_KE_REUSE (default
#   60: the client reuses its DH value, so that its own key generation does not slow the
#   server's measurement), CLIENT_REMEMBER_DH
#   (default 1: the client remembers its shared secret per server DH value, so that with KE_REUSE
#   it computes a few hundred X25519 shared secrets instead of COUNT; the server still computes
#   one per registration), WINDOW (registrations in flight, default 256), SOURCES (client source
#   addresses, default 32), PERF_OUT / PERF_CLIENT_OUT (perf record files of the server / the
#   client). Needs root.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COUNT=${1:-10000}
MEDIATOR=${2:-$ROOT/build/release/mediator/ikeme-mediator}
LOAD=${3:-$ROOT/build/release/tests/bench/mediator_load}
CTL=${4:-$ROOT/build/release/peer/ctl/ikemectl}
[[ $EUID -eq 0 ]] || { echo "mediator_scale.sh: needs root (network namespace)" >&2; exit 1; }
for b in "$MEDIATOR" "$LOAD" "$CTL"; do
  [[ -x "$b" ]] || { echo "mediator_scale.sh: $b is missing (build it first)" >&2; exit 1; }
done

# shellcheck source=../interop/lib/netns.sh
source "$ROOT/tests/interop/lib/netns.sh"

netns_create bench
dir="$IKM_RUN_DIR/mediator"
mkdir -p "$dir"
PSK=load-test-pre-shared-key
python3 - "$COUNT" "$PSK" >"$dir/directory.yaml" <<'PY'
import sys
n, psk = int(sys.argv[1]), sys.argv[2]
print("pseudonyms:")
for i in range(n):
    print(f"  p{i:05d}@load.test:\n    psk: {psk}")
PY
cat >"$dir/mediator.yaml" <<YAML
daemon:
  listen: [127.0.0.1]
  port: 15500
  port_nat_t: 15501
  control_socket: $dir/mediator.sock
  cookie_threshold: 100000
  half_open_limit: 100000
  log:
    default: -1
connections:
  medsrv:
    mediation: yes
    local:
      auth: psk
      id: medsrv@load.test
    remote:
      auth: psk
    proposals: [aes128-sha256-x25519]
mediator:
  directory: directory.yaml
  ke_reuse: ${KE_REUSE:-0}s
  ke_pregenerate: ${KE_PREGENERATE:-256}
  limits:
    inits_per_second: 1000000
    inits_burst: 1000000
    max_registrations: 10000000
YAML

netns_spawn bench "$dir/stdout" "$MEDIATOR" --config "$dir/mediator.yaml" --foreground
pid=$NETNS_SPAWN_PID
ready() { "$CTL" --socket "$dir/mediator.sock" stats >/dev/null 2>&1; }
ikm_wait_until 30 ready || { cat "$dir/stdout" >&2; exit 1; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }  # all threads
loop_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/task/$pid/stat"; }  # the event loop's
load_avg() { cut -d' ' -f1 /proc/loadavg; }
rss_before=$(rss_kb)
cpu_before=$(cpu_ticks)
loop_before=$(loop_ticks)
load_before=$(load_avg)

perf_pid=""
if [[ -n "${PERF_OUT:-}" ]]; then  # profiling: perf record of the server during the load
  # DWARF unwinding: libmbedcrypto and libc have no frame pointers.
  perf record -F 499 --call-graph dwarf,16384 -p "$pid" -o "$PERF_OUT" >/dev/null 2>&1 &
  perf_pid=$!
  ikm_on_cleanup "kill -INT $perf_pid 2>/dev/null || true"
  sleep 0.5
fi
remember=()
[[ "${CLIENT_REMEMBER_DH:-1}" == 1 ]] && remember=(--remember-dh)
client_perf=()
[[ -n "${PERF_CLIENT_OUT:-}" ]] &&
  client_perf=(perf record -F 499 --call-graph dwarf,16384 -o "$PERF_CLIENT_OUT" --)
nsx bench "${client_perf[@]}" "$LOAD" 127.0.0.1 15500 15501 "$COUNT" --window "${WINDOW:-256}" \
  --sources "${SOURCES:-32}" --psk "$PSK" --ke-reuse "${CLIENT_KE_REUSE:-60}" \
  "${remember[@]}" --timeout 300 |
  tee "$dir/load.out"

sleep 0.5
if [[ -n "$perf_pid" ]]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
fi
rss_after=$(rss_kb)
cpu_after=$(cpu_ticks)
loop_after=$(loop_ticks)
load_after=$(load_avg)
"$CTL" --socket "$dir/mediator.sock" --json stats >"$dir/stats.json"
registered=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["mediator"]["registered"])' "$dir/stats.json")
python3 - "$dir/stats.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["stats"]["mediator"]
print(f"mediator: DH key pairs: {m['dh-keys-pregenerated']} pre-generated on the thread pool, "
      f"{m['dh-keys-from-pool']} taken from the pool, {m['dh-keys-inline']} generated inline")
PY
hz=$(getconf CLK_TCK)
python3 - "$COUNT" "$registered" "$rss_before" "$rss_after" "$cpu_before" "$cpu_after" "$hz" \
  "${KE_REUSE:-0}" "$loop_before" "$loop_after" "$load_before" "$load_after" <<'PY'
import sys
n, reg, rb, ra, cb, ca, hz, reuse, lb, la = (int(x) for x in sys.argv[1:11])
load_b, load_a = sys.argv[11:13]
per = lambda ticks: ticks * 1000 / hz / max(reg, 1)
print(f"mediator: {reg} of {n} pseudonyms registered; server DH reuse "
      f"{'%ds' % reuse if reuse else 'off'}")
print(f"mediator: VmRSS {rb} KiB before, {ra} KiB after: "
      f"{(ra - rb) * 1024 / max(reg, 1):.0f} bytes per registered peer")
print(f"mediator: {per(ca - cb):.3f} ms server CPU per registration (event loop "
      f"{per(la - lb):.3f} ms, key-exchange workers {per((ca - cb) - (la - lb)):.3f} ms)")
print(f"mediator: 1-minute load average {load_b} before, {load_a} after the run")
PY
[[ "$registered" == "$COUNT" ]]
