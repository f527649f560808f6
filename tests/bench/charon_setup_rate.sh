#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# strongSwan baseline for ikeme's IKE setup-rate benchmark: charon <-> charon in two network
# namespaces, PSK + x25519 (IKE aes128-sha256-x25519, ESP aes128gcm16), measuring
#   - bursts: N distinct IKE_SA+CHILD_SA setups started at once (default N = 200 and 1000);
#   - serial latency: ~20 single setups one after another (median).
#
# Method (why it creates N truly distinct IKE SAs): the initiator has N connections c0001..cN,
# each with its own identity (c0001@bench.ikeme.test ...) and its own inner /32 (10.1.x.y, owned
# on lo because kernel-libipsec requires it), so charon can neither reuse one IKE SA for several
# CHILD_SAs nor replace SAs on INITIAL_CONTACT. The responder has one wildcard connection
# (remote id %any, remote_ts 10.1.0.0/16) and one PSK. All N initiates are sent at once, pipelined
# and dealt over --vici-conns (8) vici connections (tests/interop/lib/vici_client.py, initiate
# with timeout -1: charon queues each initiation and answers at once); the time runs from the
# first request to the Nth child-updown "up" event on the initiator. Why 8 connections: charon
# serves one vici connection's requests one after another, so with a single connection the
# hand-out of initiates, not IKE, paced the burst (measured here: 1 conn ~750/s, 8 conns
# ~1000/s at N=1000); with 16 the responder's UDP receive buffer started to overflow.
# Afterwards list-sas on both sides must show N ESTABLISHED IKE SAs with N distinct SPIs, and
# the initiator's log gives a cross-check (first "initiating IKE_SA" to last "CHILD_SA ...
# established", ms resolution).
# Every phase starts fresh charons, so no phase inherits SAs from the previous one.
#
# Settings that matter (both sides): block_threshold / cookie_threshold / cookie_threshold_ip
# raised (charon's DoS defaults would throttle N half-open SAs from one address),
# init_limit_half_open = 0, kernel-netlink process_route = no (harness default), logging at
# level 0 / ike 1 without per-line flush. charon.ikesa_table_size stays at its default (1) unless --tuned, which sets
# ikesa_table_size = 1024 / ikesa_table_segments = 16 (strongSwan's advice for many SAs).
#
# usage: tests/bench/charon_setup_rate.sh [--bursts "200 1000"] [--repeat 5] [--serial 20]
#                                         [--timeout 60] [--vici-conns 8] [--tuned]
# Each burst size runs --repeat times on fresh charons; the line printed for it is the median run
# (all runs' rates follow). --timeout bounds each run (all SAs up or give up and report).
# Exit 0 if every phase completed (all SAs up); the rates are printed, not judged.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/../interop/lib"
# shellcheck source=../interop/lib/charon.sh
source "$LIB/charon.sh"

BURSTS="200 1000"
SERIAL=20
TIMEOUT=60
TUNED=0
REPEAT=5
VICI_CONNS=8
while (($#)); do
  case "$1" in
    --bursts) BURSTS=$2; shift 2 ;;
    --serial) SERIAL=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --tuned) TUNED=1; shift ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --vici-conns) VICI_CONNS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) ikm_die "unknown argument $1" ;;
  esac
done

PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
IKE_PROPOSAL=aes128-sha256-x25519
ESP_PROPOSAL=aes128gcm16
MAX=$SERIAL
for n in $BURSTS; do
  if ((n > MAX)); then MAX=$n; fi
done
((MAX <= 9999)) || ikm_die "at most 9999 SAs (connection names are c%04d)"

# 5.9.8 also has a per-IP cookie threshold (cookie_threshold_ip, default 3): without raising it,
# a burst from one address gets COOKIE round trips, and some cookie retries sat until the 4 s
# retransmit, turning a 0.2 s burst into 4 s.
CHARON_EXTRA="  block_threshold = 100000
  cookie_threshold = 100000
  cookie_threshold_ip = 100000
  init_limit_half_open = 0"
if ((TUNED)); then
  CHARON_EXTRA+="
  ikesa_table_size = 1024
  ikesa_table_segments = 16"
fi
# Benchmark logging: only what the cross-checks need, buffered (flushed when charon stops).
CHARON_LOG_DEFAULT=0
CHARON_LOG_IKE=1
CHARON_LOG_FLUSH=no

# inner_addr I: the initiator's inner address for connection I (10.1.0.1 ... 10.1.39.250).
inner_addr() { echo "10.1.$(($1 / 250)).$(($1 % 250 + 1))"; }
# inner_addr_v VAR I: same, into VAR without a subshell (used 1000x while generating configs).
inner_addr_v() { printf -v "$1" '10.1.%d.%d' $(($2 / 250)) $(($2 % 250 + 1)); }

# --- topology: left (initiator) 192.0.2.1 --- right (responder) 192.0.2.2
netns_create left
netns_create right
netns_link left right 192.0.2.1/24 192.0.2.2/24
netns_addr right 10.2.0.10/32
for ((i = 1; i <= MAX; i++)); do
  echo "address add $(inner_addr "$i")/32 dev lo"
done | ip -n "$(ns left)" -batch -

# --- configs: initiator with MAX connections, responder with one wildcard connection
CL="$IKM_RUN_DIR/conf-left"
CR="$IKM_RUN_DIR/conf-right"
mkdir -p "$CL" "$CR"
gen_start=$(ikm_now_ms)
id="" inner=""
{
  echo "connections {"
  for ((i = 1; i <= MAX; i++)); do
    printf -v id 'c%04d' "$i"
    inner_addr_v inner "$i"
    charon_conn_psk conn="$id" local_addrs=192.0.2.1 remote_addrs=192.0.2.2 \
      local_id="$id@bench.ikeme.test" remote_id=responder@bench.ikeme.test \
      proposals="$IKE_PROPOSAL" esp_proposals="$ESP_PROPOSAL" \
      local_ts="$inner/32" remote_ts=10.2.0.10/32
  done
  echo "}"
  echo "secrets {"
  charon_secret_psk 1 "$PSK" responder@bench.ikeme.test
  echo "}"
} >"$CL/swanctl.conf"
charon_conf_psk_peer "$CR" conn=bench local_addrs=192.0.2.2 remote_addrs=%any \
  local_id=responder@bench.ikeme.test remote_id=%any psk="$PSK" \
  proposals="$IKE_PROPOSAL" esp_proposals="$ESP_PROPOSAL" \
  local_ts=10.2.0.10/32 remote_ts=10.1.0.0/16
ikm_log "generated $MAX initiator connections in $(($(ikm_now_ms) - gen_start)) ms"

# fresh_charons: (re)starts both charons and loads the configs.
fresh_charons() {
  charon_stop left
  charon_stop right
  charon_start left left "$CL"
  charon_start right right "$CR"
  charon_wait_ready left 10 || ikm_die "charon left did not start"
  charon_wait_ready right 10 || ikm_die "charon right did not start"
  local t0
  t0=$(ikm_now_ms)
  charon_load right >/dev/null 2>&1 || ikm_die "responder config did not load"
  charon_load left >/dev/null 2>&1 || ikm_die "initiator config did not load"
  ikm_log "charons up; configs loaded in $(($(ikm_now_ms) - t0)) ms"
}

# log_window LOG N: ms from the first "initiating IKE_SA" to the Nth "CHILD_SA ... established".
log_window() {
  awk -v n="$2" '
    / initiating IKE_SA / && first == "" { first = $1 }
    / CHILD_SA .* established with SPIs / { c++; if (c == n) last = $1 }
    END { if (first != "" && last != "") printf "%.0f", (last - first) * 1000; else printf "?" }' "$1"
}

# count_retransmits LOG
count_retransmits() { grep -c 'retransmit [0-9]* of request' "$1" || true; }

# distinct_ike_spis NAME: distinct initiator SPIs among ESTABLISHED IKE SAs.
distinct_ike_spis() {
  charon_swanctl "$1" --list-sas --raw | grep -o 'state=ESTABLISHED [^{]*initiator-spi=[0-9a-f]*' |
    grep -o 'initiator-spi=[0-9a-f]*' | sort -u | wc -l
}

# udp_drops NS: UDP datagrams the namespace's kernel dropped for a full receive buffer so far
# (/proc/net/snmp is per network namespace). Drops explain 4 s tails: charon's first
# retransmit timeout is 4 s.
udp_drops() {
  # shellcheck disable=SC2016  # awk program, not shell
  nsx "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp
}

FAILED=0
RESULTS=()
BURST_RUNS=()

# run_burst_once N RUN: one burst of N setups on fresh charons; prints a detail line and
# appends "elapsed_s rate ok" to BURST_RUNS.
run_burst_once() {
  local n=$1 run=$2 out rc=0 up elapsed rate ok=1
  fresh_charons
  local drops_l0 drops_r0
  drops_l0=$(udp_drops left)
  drops_r0=$(udp_drops right)
  out=$(timeout $((TIMEOUT + 30)) /usr/bin/python3 "$LIB/vici_client.py" \
    "$IKM_RUN_DIR/charon-left/charon.vici" burst c 1 "$n" "$TIMEOUT" "$VICI_CONNS") || rc=$?
  up=$(sed -n 's/^up=//p' <<<"$out")
  elapsed=$(sed -n 's/^elapsed_s=//p' <<<"$out")
  local send_s first_s median_s
  send_s=$(sed -n 's/^send_s=//p' <<<"$out")
  first_s=$(sed -n 's/^first_up_s=//p' <<<"$out")
  median_s=$(sed -n 's/^median_up_s=//p' <<<"$out")
  # Both sides must really hold n distinct ESTABLISHED IKE SAs (checked before stopping).
  local est_l est_r spis
  est_l=$(charon_count_ike left)
  est_r=$(charon_count_ike right)
  spis=$(distinct_ike_spis right)
  local drops_l drops_r
  drops_l=$(($(udp_drops left) - drops_l0))
  drops_r=$(($(udp_drops right) - drops_r0))
  charon_stop left
  charon_stop right
  local win retx_l retx_r
  win=$(log_window "$(charon_log left)" "$n")
  retx_l=$(count_retransmits "$(charon_log left)")
  retx_r=$(count_retransmits "$(charon_log right)")
  if [[ $rc -ne 0 || "$up" != "$n" || "$est_l" != "$n" || "$est_r" != "$n" || "$spis" != "$n" ]]; then
    ok=0
  fi
  rate=$(awk -v n="${up:-0}" -v t="${elapsed:-0}" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print 0 }')
  BURST_RUNS+=("${elapsed:-0} $rate $ok ${up:-0}")
  echo "  burst $n run $run: ${up:-0}/$n up in ${elapsed:-?} s = $rate setups/s$( ((ok)) || echo ' INCOMPLETE');" \
    "requests sent+acked ${send_s:-?} s, first up ${first_s:-?} s, half up ${median_s:-?} s;" \
    "ESTABLISHED left/right $est_l/$est_r, distinct IKE SPIs $spis; initiator log window $win ms;" \
    "retransmits left/right $retx_l/$retx_r; UDP rcvbuf drops left/right $drops_l/$drops_r"
}

# run_burst N: REPEAT runs; the reported result is the run with the median rate (short bursts
# vary a lot with scheduling on 2 vCPUs, a single run is not a number to compare against).
run_burst() {
  local n=$1 r
  BURST_RUNS=()
  ikm_log "burst $n: $REPEAT runs, fresh charons each"
  for ((r = 1; r <= REPEAT; r++)); do
    run_burst_once "$n" "$r"
  done
  local all_ok=1 rates="" line
  for line in "${BURST_RUNS[@]}"; do
    read -r _ rate ok _ <<<"$line"
    rates+=" $rate"
    ((ok)) || all_ok=0
  done
  # median run by rate
  local med
  med=$(printf '%s\n' "${BURST_RUNS[@]}" | sort -k2,2n | sed -n "$(((${#BURST_RUNS[@]} + 1) / 2))p")
  local m_elapsed m_rate m_up
  read -r m_elapsed m_rate _ m_up <<<"$med"
  if ((all_ok)); then
    RESULTS+=("charon burst $n: $n setups in $m_elapsed s = $m_rate setups/s (median of $REPEAT runs; all runs:$rates setups/s)")
  else
    FAILED=1
    RESULTS+=("charon burst $n: INCOMPLETE in some run (timeout ${TIMEOUT}s); median run $m_up of $n in $m_elapsed s = $m_rate setups/s (runs:$rates)")
  fi
  echo "${RESULTS[-1]}"
}

run_serial() {
  local n=$1 out rc=0 lat median ok
  ikm_log "serial $n: starting fresh charons"
  fresh_charons
  out=$(timeout $((TIMEOUT + 30)) /usr/bin/python3 "$LIB/vici_client.py" \
    "$IKM_RUN_DIR/charon-left/charon.vici" serial c 1 "$n") || rc=$?
  ok=$(grep -c 'ok=yes' <<<"$out" || true)
  lat=$(sed -n 's/^latency_ms=\([0-9.]*\).*/\1/p' <<<"$out" | sort -n)
  median=$(awk '{ v[NR] = $1 } END { if (NR == 0) print "?"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }' <<<"$lat")
  local min max
  min=$(head -n 1 <<<"$lat")
  max=$(tail -n 1 <<<"$lat")
  charon_stop left
  charon_stop right
  if [[ $rc -eq 0 && "$ok" == "$n" ]]; then
    RESULTS+=("charon serial: median setup latency $median ms over $n single setups (min $min, max $max ms)")
  else
    FAILED=1
    RESULTS+=("charon serial: INCOMPLETE, $ok of $n setups succeeded (median $median ms)")
  fi
  echo "${RESULTS[-1]}"
}

START=$(ikm_now_ms)
echo "charon_setup_rate: prefix $IKM_PREFIX, strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || echo '?')," \
  "$(nproc) CPUs, IKE $IKE_PROPOSAL, ESP $ESP_PROPOSAL, PSK, $VICI_CONNS vici connections," \
  "$( ((TUNED)) && echo 'tuned ikesa_table_size=1024' || echo 'default ikesa_table_size')"
for n in $BURSTS; do
  run_burst "$n"
done
if ((SERIAL > 0)); then
  run_serial "$SERIAL"
fi
echo "---- summary ($(($(ikm_now_ms) - START)) ms)"
printf '%s\n' "${RESULTS[@]}"
exit "$FAILED"
