#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# IKE setup-rate benchmark, ikeme <-> ikeme next to charon <-> charon: two network namespaces,
# PSK, IKE aes128-sha256-x25519, ESP aes128gcm16, N distinct IKE_SA+CHILD_SA setups at once
# (default N = 200 and 1000), the median serial setup latency (~20 single setups), and the
# in-process engine figure (tests/bench/engine_setup_rate) as the CPU ceiling. Prints one
# side-by-side summary and a verdict against the target "at least twice strongSwan's rate at 200
# and no collapse at 1000" (collapse: not every setup completed, or the rate at the largest burst
# fell below half the rate at the smallest).
#
# ikeme side (same method as charon_setup_rate.sh, which this script runs for the charon side):
#   left (initiator, 192.0.2.1) has N connections c0001..cN, each with its own identity
#   (c0001@bench.ikeme.test ...) and inner /32, so every initiate makes a new, distinct IKE SA;
#   right (responder, 192.0.2.2) has one connection with remote id %any and remote_ts
#   10.1.0.0/16; one PSK (a secret naming the responder's id, which applies to every pair).
#   The responder's cookie_threshold and half_open_limit are raised far above N (the defaults,
#   10 and 1000, would answer a burst with COOKIEs or drop it). Logging: default 0, ike 1, to a
#   file (like the charon benchmark's level 0 / ike 1).
#   The burst is triggered by tests/interop/lib/ikeme_control.py: N {"command":"initiate"}
#   requests in one write on one control connection; completion is polled from the initiator's
#   `stats` (engine.ike-established and children-installed) every 2 ms on a second connection;
#   the time runs from the first request to the poll that sees N up. Afterwards both sides must
#   hold N ESTABLISHED IKE SAs (list-sas) with N distinct SPIs; the initiator's log gives a
#   cross-check (first "initiating IKE_SA" to the Nth "CHILD_SA ... established", ms resolution),
#   /proc gives each daemon's CPU time per setup, /proc/net/snmp the UDP receive-buffer drops.
#   Every run starts fresh daemons. Serial: one initiate at a time, each polled (every 0.2 ms)
#   until established; the median is printed.
#
# --profile adds one more ikeme burst of the largest N with both daemons under `perf record`
# (DWARF call graphs) and prints where their cycles go: per library, inside mbedtls_ecp_mul
# (X25519), in mbedTLS's bignum functions, and the daemon's own hottest functions. The perf.data
# files stay in $IKM_RUN_DIR with IKM_KEEP_RUN_DIR=1.
#
# usage: tests/bench/setup_rate.sh [--bursts "200 1000"] [--repeat 5] [--serial 20]
#          [--timeout 60] [--engine-count 500] [--no-charon] [--no-engine] [--profile]
#          [--build DIR (build/release)] [--quiet-wait S]
# --quiet-wait S: before each measured phase wait up to S s for the machine to be less than 25%
# busy (other work on a 2-CPU machine halves the figures); every run line shows how busy the
# machine was anyway.
# Every phase is bounded (--timeout per run; the charon script as a whole gets a bound computed
# from the same values). Exit 0 if every phase completed; the verdict is printed, not the exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/../interop/lib"

BURSTS="200 1000"
REPEAT=5
SERIAL=20
TIMEOUT=60
ENGINE_COUNT=500
RUN_CHARON=1
RUN_ENGINE=1
PROFILE=0
QUIET_WAIT=0
BUILD="$ROOT/build/release"
while (($#)); do
  case "$1" in
    --bursts) BURSTS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --serial) SERIAL=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --engine-count) ENGINE_COUNT=$2; shift 2 ;;
    --no-charon) RUN_CHARON=0; shift ;;
    --no-engine) RUN_ENGINE=0; shift ;;
    --profile) PROFILE=1; shift ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "setup_rate.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=../interop/lib/netns.sh
source "$LIB/netns.sh"

PEER_BIN="$BUILD/peer/ikeme-peer"
ENGINE_BIN="$BUILD/tests/bench/engine_setup_rate"
PY=/usr/bin/python3
CTL="$LIB/ikeme_control.py"
IKE_PROPOSAL=aes128-sha256-x25519
ESP_PROPOSAL=aes128gcm16
PSK="0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
MAX=$SERIAL
MIN=""
for n in $BURSTS; do
  if ((n > MAX)); then MAX=$n; fi
  if [[ -z "$MIN" ]] || ((n < MIN)); then MIN=$n; fi
done
((MAX <= 9999)) || ikm_die "at most 9999 SAs (connection names are c%04d)"

# use_binary SRC NAME: copies SRC to $IKM_RUN_DIR/bin/NAME and prints the copy's path, so a
# concurrent rebuild of the build tree cannot swap or remove a binary in the middle of the run;
# waits (up to 120 s) while SRC is missing or not runnable, as while the build relinks it.
use_binary() {
  local src=$1 dst="$IKM_RUN_DIR/bin/$2" i
  mkdir -p "$IKM_RUN_DIR/bin"
  for ((i = 0; i < 120; i++)); do
    if cp "$src" "$dst" 2>/dev/null && "$dst" --help >/dev/null 2>&1; then
      echo "$dst"
      return 0
    fi
    sleep 1
  done
  ikm_die "$src missing or not runnable (scripts/build.sh release)"
}
PEER_BIN=$(use_binary "$PEER_BIN" ikeme-peer)

# --- topology: left (initiator) 192.0.2.1 --- right (responder) 192.0.2.2 (no inner addresses:
# ikeme runs with esp_backend: none here, so its CHILD_SAs need no owned address inside the
# selectors; this benchmark measures IKE setups, tests/bench/esp_throughput.sh the data plane)
netns_create left
netns_create right
netns_link left right 192.0.2.1/24 192.0.2.2/24

# --- configurations
DL="$IKM_RUN_DIR/ikeme-left"
DR="$IKM_RUN_DIR/ikeme-right"
mkdir -p "$DL" "$DR"

daemon_section() {  # ADDRESS DIR
  printf '%s\n' "daemon:
  listen: [$1]
  control_socket: $2/peer.sock
  esp_backend: none
  cookie_threshold: 1000000
  half_open_limit: 10000000
  log:
    default: 0
    ike: 1
    file: $2/peer.log"
}

secrets_section() {
  printf '%s\n' "secrets:
  ike-bench:
    id: responder@bench.ikeme.test
    secret: $PSK"
}

gen_start=$(ikm_now_ms)
{
  daemon_section 192.0.2.1 "$DL"
  echo "connections:"
  for ((i = 1; i <= MAX; i++)); do
    printf -v id 'c%04d' "$i"
    printf '  %s:
    local_addrs: 192.0.2.1
    remote_addrs: 192.0.2.2
    proposals: %s
    local:
      auth: psk
      id: %s@bench.ikeme.test
    remote:
      auth: psk
      id: responder@bench.ikeme.test
    children:
      %s:
        local_ts: 10.1.%d.%d/32
        remote_ts: 10.2.0.10/32
        esp_proposals: %s
' "$id" "$IKE_PROPOSAL" "$id" "$id" $((i / 250)) $((i % 250 + 1)) "$ESP_PROPOSAL"
  done
  secrets_section
} >"$DL/peer.yaml"
{
  daemon_section 192.0.2.2 "$DR"
  printf '%s\n' "connections:
  bench:
    local_addrs: 192.0.2.2
    proposals: $IKE_PROPOSAL
    local:
      auth: psk
      id: responder@bench.ikeme.test
    remote:
      auth: psk
      id: \"%any\"
    children:
      bench:
        local_ts: 10.2.0.10/32
        remote_ts: 10.1.0.0/16
        esp_proposals: $ESP_PROPOSAL"
  secrets_section
} >"$DR/peer.yaml"
ikm_log "generated $MAX initiator connections in $(($(ikm_now_ms) - gen_start)) ms"

# --- daemons
PID_L="" PID_R=""

# shellcheck disable=SC2317  # called through daemon_ready
ctl_stats() { timeout 5 "$PY" "$CTL" "$1/peer.sock" stats 2>/dev/null; }
# shellcheck disable=SC2317  # called through ikm_wait_until
daemon_ready() { [[ -S "$1/peer.sock" ]] && ctl_stats "$1" >/dev/null; }

start_daemon() {  # NS DIR -> NETNS_SPAWN_PID
  local nsname=$1 dir=$2
  rm -f "$dir/peer.log"
  netns_spawn "$nsname" "$dir/stderr" "$PEER_BIN" --config "$dir/peer.yaml" --foreground
  if ! ikm_wait_until 10 daemon_ready "$dir"; then
    tail -n 20 "$dir/stderr" "$dir/peer.log" >&2 2>/dev/null || true
    ikm_die "ikeme-peer in $nsname did not start"
  fi
}

fresh_daemons() {
  stop_daemons
  start_daemon right "$DR"
  PID_R=$NETNS_SPAWN_PID
  start_daemon left "$DL"
  PID_L=$NETNS_SPAWN_PID
}

stop_daemons() {
  # SIGTERM: each daemon deletes its SAs (1 s grace), then SIGKILL after 3 s.
  if [[ -n "$PID_L" ]]; then ikm_stop_pid "$PID_L" 30; fi
  if [[ -n "$PID_R" ]]; then ikm_stop_pid "$PID_R" 30; fi
  PID_L="" PID_R=""
}

# machine_ticks: "busy total" clock ticks of all CPUs so far (/proc/stat; busy excludes idle and
# iowait), to tell how much of the machine other work took during a run.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }

# busy_percent A B: how busy the machine was between two machine_ticks samples.
busy_percent() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
    printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# wait_quiet: with --quiet-wait S, waits up to S s until the machine is less than 25% busy
# (measured over 2 s).
wait_quiet() {
  ((QUIET_WAIT > 0)) || return 0
  local deadline=$(($(ikm_now_ms) + QUIET_WAIT * 1000)) a b busy
  while :; do
    a=$(machine_ticks)
    sleep 2
    b=$(machine_ticks)
    busy=$(busy_percent "$a" "$b")
    ((busy >= 25)) || return 0
    if (($(ikm_now_ms) >= deadline)); then
      ikm_log "machine still ${busy}% busy after waiting ${QUIET_WAIT} s; measuring anyway"
      return 0
    fi
  done
}

# cpu_ticks PID: user+system clock ticks the process used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)

# udp_drops NS: UDP datagrams the namespace's kernel dropped for a full receive buffer so far.
udp_drops() {
  # shellcheck disable=SC2016  # awk program, not shell
  nsx "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp
}

# sa_check DIR: "ESTABLISHED distinct-initiator-SPIs" from list-sas.
sa_check() {
  timeout 30 "$PY" - "$1/peer.sock" <<'EOF' 2>/dev/null || echo "? ?"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"command":"list-sas"}\n')
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    buf += chunk
sas = json.loads(buf)["sas"]
est = [sa for sa in sas if sa["state"] == "ESTABLISHED" and sa.get("child-sas")]
print(len(est), len({sa["initiator-spi"] for sa in est}))
EOF
}

# log_window LOG N: ms from the first "initiating IKE_SA" to the Nth "CHILD_SA ... established"
# (log time stamps are HH:MM:SS.mmm).
log_window() {
  awk -v n="$2" '
    function t(s,   a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
    / initiating IKE_SA / && first == "" { first = t($1) }
    / CHILD_SA .* established with SPIs / { c++; if (c == n) last = t($1) }
    END {
      if (first == "" || last == "") { printf "?"; exit }
      d = last - first; if (d < 0) d += 86400
      printf "%.0f", d * 1000
    }' "$1"
}

count_retransmits() { grep -c 'retransmit' "$1" 2>/dev/null || true; }

FAILED=0
declare -A IKEME_RATE=() IKEME_LINE=() IKEME_OK=() IKEME_ELAPSED=() IKEME_DROPS=() IKEME_NRETX=()
IKEME_SERIAL="" IKEME_SERIAL_LINE=""
BURST_RUNS=()

# run_burst_once N RUN [PERF]: one burst on fresh daemons; appends "elapsed rate ok up" to
# BURST_RUNS. With PERF=1 both daemons run under perf record during the burst.
run_burst_once() {
  local n=$1 run=$2 perf=${3:-0} out rc=0 ok=1
  wait_quiet
  fresh_daemons
  local drops_l0 drops_r0 cpu_l0 cpu_r0 perf_pids=()
  drops_l0=$(udp_drops left)
  drops_r0=$(udp_drops right)
  cpu_l0=$(cpu_ticks "$PID_L")
  cpu_r0=$(cpu_ticks "$PID_R")
  local m0 m1
  m0=$(machine_ticks)
  if ((perf)); then
    local p
    for p in "$PID_R:right" "$PID_L:left"; do
      perf record -q -F 999 --call-graph dwarf,8192 -p "${p%%:*}" -o "$IKM_RUN_DIR/perf-${p#*:}.data" \
        >"$IKM_RUN_DIR/perf-${p#*:}.out" 2>&1 &
      perf_pids+=("$!")
      IKM_PIDS+=("$!")
    done
    sleep 0.5  # perf attaches
  fi
  out=$(timeout $((TIMEOUT + 30)) "$PY" "$CTL" "$DL/peer.sock" burst c 1 "$n" "$TIMEOUT") || rc=$?
  local cpu_l cpu_r
  cpu_l=$(cpu_ticks "$PID_L")
  cpu_r=$(cpu_ticks "$PID_R")
  m1=$(machine_ticks)
  if ((perf)); then
    for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${perf_pids[@]}"; do
      ikm_wait_until 20 eval "! kill -0 $p 2>/dev/null" || true  # perf writes its data
      ikm_stop_pid "$p" 10
    done
  fi
  local up elapsed send_s first_s median_s
  up=$(sed -n 's/^up=//p' <<<"$out")
  elapsed=$(sed -n 's/^elapsed_s=//p' <<<"$out")
  send_s=$(sed -n 's/^send_s=//p' <<<"$out")
  first_s=$(sed -n 's/^first_up_s=//p' <<<"$out")
  median_s=$(sed -n 's/^median_up_s=//p' <<<"$out")
  local chk_l chk_r est_l est_r spis
  chk_l=$(sa_check "$DL")
  chk_r=$(sa_check "$DR")
  est_l=${chk_l%% *}
  est_r=${chk_r%% *}
  spis=${chk_r##* }
  local drops_l drops_r
  drops_l=$(($(udp_drops left) - drops_l0))
  drops_r=$(($(udp_drops right) - drops_r0))
  stop_daemons
  local win retx_l retx_r cpu_text
  win=$(log_window "$DL/peer.log" "$n")
  retx_l=$(count_retransmits "$DL/peer.log")
  retx_r=$(count_retransmits "$DR/peer.log")
  cpu_text=$(awk -v l=$((cpu_l - cpu_l0)) -v r=$((cpu_r - cpu_r0)) -v n="$n" -v hz="$CLK_TCK" \
    'BEGIN { printf "%.2f/%.2f", l * 1000 / hz / n, r * 1000 / hz / n }')
  local busy_text
  busy_text=$(awk -v a="$m0" -v b="$m1" -v d=$((cpu_l - cpu_l0 + cpu_r - cpu_r0)) 'BEGIN {
    split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; total = y[2] - x[2]
    if (total <= 0) { print "?"; exit }
    printf "machine CPU busy %.0f%% (ikeme daemons %.0f%%, the rest (client with its start-up, kernel, other work) %.0f%%)", 100 * busy / total, 100 * d / total, 100 * (busy - d) / total }')
  if [[ $rc -ne 0 || "$up" != "$n" || "$est_l" != "$n" || "$est_r" != "$n" || "$spis" != "$n" ]]; then
    ok=0
  fi
  local rate
  rate=$(awk -v n="${up:-0}" -v t="${elapsed:-0}" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }')
  BURST_RUNS+=("${elapsed:-0} $rate $ok ${up:-0} $((drops_l + drops_r)) $((retx_l + retx_r))")
  echo "  ikeme burst $n run $run: ${up:-0}/$n up in ${elapsed:-?} s = $rate setups/s$( ((ok)) || echo ' INCOMPLETE');" \
    "initiates answered ${send_s:-?} s, first up ${first_s:-?} s, half up ${median_s:-?} s;" \
    "ESTABLISHED left/right $est_l/$est_r, distinct IKE SPIs $spis; initiator log window $win ms;" \
    "CPU ms/setup left/right $cpu_text; retransmits left/right $retx_l/$retx_r;" \
    "UDP rcvbuf drops left/right $drops_l/$drops_r; $busy_text"
}

run_burst() {
  local n=$1 r
  BURST_RUNS=()
  ikm_log "ikeme burst $n: $REPEAT runs, fresh daemons each (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  for ((r = 1; r <= REPEAT; r++)); do
    run_burst_once "$n" "$r"
  done
  local all_ok=1 rates="" line rate ok drops retx all_drops=0 all_retx=0
  for line in "${BURST_RUNS[@]}"; do
    read -r _ rate ok _ drops retx <<<"$line"
    rates+=" $rate"
    all_drops=$((all_drops + drops))
    all_retx=$((all_retx + retx))
    ((ok)) || all_ok=0
  done
  IKEME_DROPS[$n]="$all_drops drops, $all_retx retransmits"
  IKEME_NRETX[$n]=$all_retx
  local med m_elapsed m_rate m_up
  med=$(printf '%s\n' "${BURST_RUNS[@]}" | sort -k2,2n | sed -n "$(((${#BURST_RUNS[@]} + 1) / 2))p")
  read -r m_elapsed m_rate _ m_up <<<"$med"
  IKEME_RATE[$n]=$m_rate
  IKEME_ELAPSED[$n]=$m_elapsed
  IKEME_OK[$n]=$all_ok
  if ((all_ok)); then
    IKEME_LINE[$n]="ikeme burst $n: $n setups in $m_elapsed s = $m_rate setups/s (median of $REPEAT runs; all runs:$rates setups/s)"
  else
    FAILED=1
    IKEME_LINE[$n]="ikeme burst $n: INCOMPLETE in some run (timeout ${TIMEOUT}s); median run $m_up of $n in $m_elapsed s = $m_rate setups/s (runs:$rates)"
  fi
  echo "${IKEME_LINE[$n]}"
}

run_serial() {
  local n=$1 out rc=0 lat median min max ok
  ikm_log "ikeme serial $n: fresh daemons"
  wait_quiet
  fresh_daemons
  out=$(timeout $((TIMEOUT + 30)) "$PY" "$CTL" "$DL/peer.sock" serial c 1 "$n" 10) || rc=$?
  stop_daemons
  ok=$(grep -c 'ok=yes' <<<"$out" || true)
  lat=$(sed -n 's/^latency_ms=\([0-9.]*\).*/\1/p' <<<"$out" | sort -n)
  median=$(awk '{ v[NR] = $1 } END { if (NR == 0) print "?"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }' <<<"$lat")
  min=$(head -n 1 <<<"$lat")
  max=$(tail -n 1 <<<"$lat")
  IKEME_SERIAL=$median
  if [[ $rc -eq 0 && "$ok" == "$n" ]]; then
    IKEME_SERIAL_LINE="ikeme serial: median setup latency $median ms over $n single setups (min $min, max $max ms)"
  else
    FAILED=1
    IKEME_SERIAL_LINE="ikeme serial: INCOMPLETE, $ok of $n setups succeeded (median $median ms)"
  fi
  echo "$IKEME_SERIAL_LINE"
}

# perf_summary NAME: where a daemon's cycles went during the profiled burst: self time per
# library, the share spent inside mbedtls_ecp_mul (X25519 key generation and shared secrets,
# with the bignum heap traffic it causes in libc), the bignum functions' own share, and the
# daemon's own hottest functions.
PROFILE_LINES=()
perf_rep() {  # DATA ARGS...: the sample lines of a perf report
  local data=$1
  shift
  # (perf 6.1 ends every line with two "-" columns; they go)
  timeout 300 perf report -i "$data" -g none --stdio "$@" 2>/dev/null | grep -E '^ +[0-9.]+%' |
    sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' || true
}
perf_summary() {
  local name=$1 data="$IKM_RUN_DIR/perf-$1.data" dso ecp mpi own
  if [[ ! -s "$data" ]]; then
    PROFILE_LINES+=("profile $name: no perf data ($(head -c 300 "$IKM_RUN_DIR/perf-$name.out" 2>/dev/null | tr '\n' ' '))")
    return
  fi
  dso=$(perf_rep "$data" --no-children --sort dso | awk 'NR <= 6 { printf "%s%s %s", sep, $1, $2; sep = ", " }')
  ecp=$(perf_rep "$data" --children --sort symbol | awk '/mbedtls_ecp_mul_restartable$/ { print $1; exit }')
  mpi=$(perf_rep "$data" --no-children --sort dso,symbol |
    awk '$2 ~ /libmbedcrypto/ && ($4 ~ /^mbedtls_mpi_/ || $4 ~ /^0x/) { gsub(/%/, "", $1); s += $1 } END { printf "%.1f%%", s }')
  own=$(perf_rep "$data" --no-children --sort dso,symbol |
    awk '$2 == "ikeme-peer" && k < 5 { f = $4; for (i = 5; i <= NF; i++) f = f " " $i
      printf "%s%s %s", sep, $1, substr(f, 1, 60); sep = "; "; k++ }')
  PROFILE_LINES+=("profile $name (self time by library): $dso")
  PROFILE_LINES+=("profile $name: inside mbedtls_ecp_mul (X25519, with the malloc/free it causes): ${ecp:-?} of cycles; mbedTLS bignum functions' self time (mbedtls_mpi_* and unnamed static helpers): $mpi")
  PROFILE_LINES+=("profile $name: ikeme-peer's own hottest functions (self): ${own:-none}")
}

START=$(ikm_now_ms)
echo "setup_rate: prefix $IKM_PREFIX, $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "IKE $IKE_PROPOSAL, ESP $ESP_PROPOSAL, PSK; bursts $BURSTS x $REPEAT runs, serial $SERIAL"

# 1. the engine's CPU ceiling
ENGINE_LINE="" ENGINE_RATE=""
if ((RUN_ENGINE)); then
  ENGINE_BIN=$(use_binary "$ENGINE_BIN" engine_setup_rate)
  ikm_log "engine in-process: $ENGINE_COUNT setups"
  wait_quiet
  ENGINE_LINE=$(timeout 300 "$ENGINE_BIN" "$ENGINE_COUNT" 2>&1) || FAILED=1
  echo "$ENGINE_LINE"
  ENGINE_RATE=$(sed -n 's/.* = \([0-9]*\) setups\/s.*/\1/p' <<<"$ENGINE_LINE")
fi

# 2. ikeme <-> ikeme
for n in $BURSTS; do
  run_burst "$n"
done
if ((SERIAL > 0)); then
  run_serial "$SERIAL"
fi
if ((PROFILE)); then
  if command -v perf >/dev/null; then
    ikm_log "profiling one more ikeme burst of $MAX under perf record"
    BURST_RUNS=()
    run_burst_once "$MAX" profiled 1
    perf_summary right
    perf_summary left
  else
    PROFILE_LINES+=("profile: perf not installed")
  fi
fi
stop_daemons

# 3. charon <-> charon (its own namespaces, run dir and cleanup)
declare -A CHARON_RATE=()
CHARON_SERIAL="" CHARON_LINES=()
if ((RUN_CHARON)); then
  nb=$(wc -w <<<"$BURSTS")
  bound=$(((TIMEOUT + 40) * REPEAT * nb + TIMEOUT + 120))
  ikm_log "charon <-> charon: tests/bench/charon_setup_rate.sh (bounded to ${bound}s)"
  wait_quiet
  charon_out=$(timeout "$bound" "$HERE/charon_setup_rate.sh" --bursts "$BURSTS" --repeat "$REPEAT" \
    --serial "$SERIAL" --timeout "$TIMEOUT" 2>&1) || FAILED=1
  grep '^  burst ' <<<"$charon_out" | sed 's/^  burst/  charon burst/' || true
  mapfile -t CHARON_LINES < <(sed -n '/^---- summary/,$p' <<<"$charon_out" | grep '^charon ' || true)
  printf '%s\n' "${CHARON_LINES[@]}"
  for n in $BURSTS; do
    CHARON_RATE[$n]=$(grep "^charon burst $n: " <<<"$charon_out" | sed -n 's/.* = \([0-9]*\) setups\/s.*/\1/p' | head -n 1)
  done
  CHARON_SERIAL=$(sed -n 's/^charon serial: median setup latency \([0-9.]*\) ms.*/\1/p' <<<"$charon_out" | head -n 1)
  if [[ ${#CHARON_LINES[@]} -eq 0 ]]; then
    echo "charon benchmark gave no summary; its last lines:"
    tail -n 15 <<<"$charon_out"
  fi
fi

# --- summary
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else print "?" }'; }
echo "==== setup_rate summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $((($(ikm_now_ms) - START) / 1000)) s)"
for n in $BURSTS; do
  printf 'ikeme  burst %-5s %s setups in %s s = %s setups/s%s   (charon: %s setups/s, ratio %s; ikeme UDP rcvbuf over all runs: %s)\n' \
    "$n:" "$n" "${IKEME_ELAPSED[$n]}" "${IKEME_RATE[$n]}" "$( ((IKEME_OK[$n])) || echo ' INCOMPLETE')" \
    "${CHARON_RATE[$n]:-?}" "$(ratio "${IKEME_RATE[$n]}" "${CHARON_RATE[$n]:-}")" "${IKEME_DROPS[$n]}"
done
if ((SERIAL > 0)); then
  echo "ikeme  serial median latency: ${IKEME_SERIAL} ms (charon: ${CHARON_SERIAL:-?} ms)"
fi
if ((RUN_ENGINE)); then
  echo "ikeme  engine in-process ceiling: ${ENGINE_RATE:-?} setups/s (both sides on one core; $ENGINE_COUNT setups)"
fi
((${#PROFILE_LINES[@]} == 0)) || printf '%s\n' "${PROFILE_LINES[@]}"

# --- verdict: >= 2x charon at the smallest burst, no collapse at the largest
verdict=$(awk -v r_min="${IKEME_RATE[$MIN]:-0}" -v c_min="${CHARON_RATE[$MIN]:-}" \
  -v r_max="${IKEME_RATE[$MAX]:-0}" -v ok_max="${IKEME_OK[$MAX]:-0}" -v nmin="$MIN" -v nmax="$MAX" \
  -v retx_min="${IKEME_NRETX[$MIN]:-0}" -v retx_max="${IKEME_NRETX[$MAX]:-0}" 'BEGIN {
    if (c_min == "") a = "no charon figure at " nmin
    else if (r_min >= 2 * c_min) a = sprintf("PASS at %d: %.2fx charon (target >= 2x)", nmin, r_min / c_min)
    else a = sprintf("MISS at %d: %.2fx charon (target >= 2x)", nmin, r_min / c_min)
    if (nmax == nmin) b = ""
    else if (!ok_max) b = sprintf("; COLLAPSE at %d: not every setup completed", nmax)
    else if (r_max < 0.5 * r_min) b = sprintf("; COLLAPSE at %d: %d setups/s is below half the rate at %d", nmax, r_max, nmin)
    else b = sprintf("; no collapse at %d (%d setups/s, %.0f%% of the rate at %d)", nmax, r_max, 100 * r_max / r_min, nmin)
    c = ""
    if (retx_min + retx_max > 0)
      c = sprintf("; ikeme needed retransmissions (%d at %d, %d at %d over all runs): lost datagrams, 4 s each", retx_min, nmin, retx_max, nmax)
    print a b c
  }')
echo "verdict: $verdict"
exit "$FAILED"
