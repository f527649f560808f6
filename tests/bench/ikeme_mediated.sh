#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ikeme's mediated (IKE-ME) connection against strongSwan's, same topology, same invocation: the
# double-NAT testbed (tests/interop/lib/nat_topo.sh) with ikeme-mediator in carol and two
# ikeme-peer daemons in alice and bob (configured by tests/interop/lib/mediated.sh like the
# capture: PSK registrations, RSA certificates on the direct connection, IKE
# aes128-sha256-x25519, ESP aes128gcm128-x25519, CHILD_SA 10.1.0.10/32 === 10.2.0.10/32); then
# tests/bench/charon_mediated.sh with the same --runs and --topo for strongSwan's numbers.
#
# Each ikeme run builds fresh namespaces, starts the mediator, then both peers at once (bob
# first; his only job is to register and answer, alice's mediated connection has
# start_action: start):
#   time     from the start of both peer daemons ("both peers started") to the later of the two
#            peers' log lines that install the CHILD_SA "peer" (ikeme's millisecond log
#            timestamps, same clock as the start time)
#   packets  UDP datagrams on the public segment in that interval (udp_sniff.py on the inet
#            bridge, each datagram once: registrations, ME_CONNECT, checks, direct IKE)
# Also printed per run, from alice's log: ME_CONNECT sent, first check, nomination, and the
# phase timings list-sas shows.
# ikeme's number includes the daemons' own start-up (process start, configuration, sockets);
# strongSwan's starts at `swanctl --load-all` into charons already running.
#
# usage: tests/bench/ikeme_mediated.sh [--runs 3] [--timeout 15] [--topo "NAT_TOPO_OPTIONS"]
#        [--no-charon] [IKEME_PEER IKEMECTL IKEME_MEDIATOR]
# Needs root. Prints numbers; exits non-zero only if a run did not bring the tunnel up.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/../interop/lib"

RUNS=3
TIMEOUT=15
TOPO=""
CHARON=1
BINS=()
while (($#)); do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --topo) TOPO=$2; shift 2 ;;
    --no-charon) CHARON=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) BINS+=("$1"); shift ;;
  esac
done
PEER_BIN=${BINS[0]:-$ROOT/build/release/peer/ikeme-peer}
CTL_BIN=${BINS[1]:-$ROOT/build/release/peer/ctl/ikemectl}
MEDIATOR_BIN=${BINS[2]:-$ROOT/build/release/mediator/ikeme-mediator}

# shellcheck source=../interop/lib/mediated.sh
source "$LIB/mediated.sh"

[[ $EUID -eq 0 ]] || ikm_die "must run as root (network namespaces)"
ikeme_use_binaries "$PEER_BIN" "$CTL_BIN" || ikm_die "ikeme binaries not usable"
cp "$MEDIATOR_BIN" "$IKM_RUN_DIR/bin/ikeme-mediator"
MED_MEDIATOR_BIN="$IKM_RUN_DIR/bin/ikeme-mediator"

# log_ms HOST PATTERN: epoch ms of the first line of HOST's ikeme log matching PATTERN (the log's
# HH:MM:SS.mmm is local time of today).
log_ms() {
  local line
  line=$(grep -m1 -E "$2" "$(ikeme_log "$1")" 2>/dev/null) || return 1
  date -d "today ${line%% *}" +%s%3N
}
INSTALL='\[KNL\].*install.* CHILD_SA peer\{'
child_up() { log_ms "$1" "$INSTALL" >/dev/null; }
both_up() { child_up alice && child_up bob; }

TIMES=()
PACKETS=()
run() {
  local i=$1 t0 t_alice t_bob t_end n me_connect first_check nominated
  # shellcheck disable=SC2086  # TOPO is a list of options
  nat_topo $TOPO
  med_mediator_start ikeme
  med_peer_conf ikeme alice yes
  med_peer_conf ikeme bob no
  MED_KIND[alice]=ikeme
  MED_KIND[bob]=ikeme
  nat_sniff_start "$IKM_RUN_DIR/public-$i.txt"
  local h dir
  t0=$(ikm_now_ms)
  for h in bob alice; do
    dir=$(ikeme_dir "$h")
    rm -f "$dir/peer.log"
    netns_spawn "$h" "$dir/stdout" "$IKEME_PEER" --config "$dir/peer.yaml" --foreground
    # shellcheck disable=SC2034  # ikeme.sh's table: med_stop_all stops them
    IKEME_PID["$h"]=$NETNS_SPAWN_PID
  done
  if ! ikm_wait_until "$TIMEOUT" both_up; then
    med_dump_logs
    ikm_die "run $i: no direct CHILD_SA on both peers within ${TIMEOUT}s"
  fi
  t_alice=$(log_ms alice "$INSTALL")
  t_bob=$(log_ms bob "$INSTALL")
  t_end=$((t_alice > t_bob ? t_alice : t_bob))
  sleep 0.2 # the sniffer writes each line at once; give the last ones a moment
  n=$(awk -v end="$t_end" '$1 * 1000 <= end + 0.5' "$IKM_RUN_DIR/public-$i.txt" | wc -l)
  me_connect=$(log_ms alice 'sending ME_CONNECT to')
  first_check=$(log_ms alice '\[ICE\].*(ordinary|triggered) check on pair')
  nominated=$(log_ms alice '\[ICE\].*nominated pair')
  TIMES+=($((t_end - t0)))
  PACKETS+=("$n")
  printf 'run %d: direct CHILD_SA on both after %d ms, %d UDP datagrams on the public segment' \
    "$i" $((t_end - t0)) "$n"
  printf ' (ME_CONNECT at %d ms, first check at %d ms, nominated at %d ms)\n' \
    $((me_connect - t0)) $((first_check - t0)) $((nominated - t0))
  if ((i == RUNS)); then
    ikeme_ctl alice list-sas --ike peer | sed 's/^/  alice: /'
    ikeme_ctl bob list-sas --ike peer | sed 's/^/  bob:   /'
  fi
  med_stop_all
  ikm_stop_pid "$NAT_SNIFF_PID" 5
  nat_topo_destroy
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for ((r = 1; r <= RUNS; r++)); do
  run "$r"
done
echo "ikeme (ikeme-mediator, ikeme-peer) mediated connection, topology '${TOPO:-double NAT}', $RUNS runs:"
echo "  median $(median "${TIMES[@]}") ms until the direct CHILD_SA is installed on both peers" \
  "(runs: ${TIMES[*]})"
echo "  median $(median "${PACKETS[@]}") UDP datagrams on the public segment until then" \
  "(runs: ${PACKETS[*]})"
if ((CHARON)); then
  echo "--- strongSwan on the same topology (tests/bench/charon_mediated.sh):"
  args=(--runs "$RUNS" --timeout "$TIMEOUT")
  [[ -z "$TOPO" ]] || args+=(--topo "$TOPO")
  "$HERE/charon_mediated.sh" "${args[@]}"
fi
