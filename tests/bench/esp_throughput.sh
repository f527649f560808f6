#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ESP throughput through a tunnel between two network namespaces (left 192.0.2.1, right
# 192.0.2.2, inner 10.1.0.10 === 10.2.0.10, AES-GCM-128 ESP): iperf3, one TCP stream,
# left -> right, for SECONDS (default 10) each:
#   1. ikeme-peer <-> ikeme-peer, esp_backend: userspace (TUN + ESP-in-UDP + mbedTLS)
#   2. charon <-> charon (strongSwan 5.9.8) with kernel-libipsec (its userspace ESP)
#   3. the ceiling: mbedTLS 2.28's raw AES-GCM-128 speed on one core (esp_crypto_speed)
# and prints the numbers and the ratio. A benchmark, not a test: it fails only if a tunnel
# cannot be set up. Both tunnels run in the same invocation on the same (shared) CPUs.
#
# usage: tests/bench/esp_throughput.sh [BUILD_DIR=build/release] [SECONDS=10] [ROUNDS=2]
#   IKEME_ESP=chacha20poly1305 runs ikeme's tunnel with another ESP proposal (charon's stays
#   aes128gcm16); IKEME_OFFLOAD=no runs it with tun_offload: no (no TUN/UDP offloads, one
#   packet per read, write and datagram: the data plane as it was before them). Both tunnels are up at the same time in separate namespace pairs and the runs
#   alternate (ikeme, charon, ikeme, ...); medians over the rounds. Besides Mbit/s it prints the
#   daemons' CPU seconds and Mbit per daemon CPU-second, which a loaded machine distorts less,
#   how busy the whole machine was, and the drops on the way (UDP receive buffer overflows and
#   full device queues in the sender's and the receiver's namespace).
#   PERF_OUT=FILE records a whole-machine perf profile (-a -g) of ikeme's first run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD=${1:-$ROOT/build/release}
SECS=${2:-10}
ROUNDS=${3:-2}
IKEME_ESP=${IKEME_ESP:-aes128gcm16}
IKEME_OFFLOAD=${IKEME_OFFLOAD:-yes}
[[ $EUID -eq 0 ]] || { echo "esp_throughput: needs root" >&2; exit 1; }
for tool in iperf3 swanctl /usr/lib/ipsec/charon; do
  command -v "$tool" >/dev/null || { echo "esp_throughput: $tool missing" >&2; exit 1; }
done

INTEROP="$ROOT/tests/interop"
# shellcheck source=../interop/lib/charon.sh
source "$INTEROP/lib/charon.sh"
# shellcheck source=../interop/lib/ikeme.sh
source "$INTEROP/lib/ikeme.sh"

PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
ikeme_use_binaries "$BUILD/peer/ikeme-peer" "$BUILD/peer/ctl/ikemectl" 60 ||
  ikm_die "no ikeme binaries in $BUILD"
cp "$BUILD/tests/bench/esp_crypto_speed" "$IKM_RUN_DIR/bin/" || ikm_die "no esp_crypto_speed in $BUILD"

# iperf NS_CLIENT DST SRC NS_SERVER -> "Mbit/s retransmits" (receiver's rate)
iperf_run() {
  local cns=$1 dst=$2 src=$3 sns=$4 json
  netns_spawn "$sns" "$IKM_RUN_DIR/iperf-server.log" iperf3 -s -1 -B "$dst"
  local spid=$NETNS_SPAWN_PID
  sleep 0.5
  json=$(nsx "$cns" iperf3 -c "$dst" -B "$src" -t "$SECS" -J) || { ikm_stop_pid "$spid" 5; return 1; }
  ikm_stop_pid "$spid" 5
  /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["end"].get("cpu_utilization_percent", {})
print("%.0f %d %.0f %.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6,
                   d["end"]["sum_sent"].get("retransmits", 0),
                   c.get("host_total", 0), c.get("remote_total", 0)))' <<<"$json"
}

# wait_s PID: seconds the process's threads spent runnable but waiting for a CPU (schedstat)
wait_s() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.2f", s / 1e9 }'
}

# machine_busy: "busy total" jiffies of all CPUs (busy = everything but idle and iowait)
machine_busy() {
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# drops NS: "UdpRcvbufErrors tx_dropped-of-all-links" of a namespace (ESP datagrams the
# receiving socket had no room for; packets a full TUN queue dropped)
drops() {
  local rcvbuf txdrop
  # shellcheck disable=SC2016  # awk's own $fields
  rcvbuf=$(nsx "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp)
  txdrop=$(nsx "$1" cat /proc/net/dev | awk 'NR > 2 { sub(/:/, " "); s += $13 } END { print s + 0 }')
  echo "$rcvbuf $txdrop"
}

# cpu_s PID: user+system CPU seconds the process used so far
cpu_s() {
  awk '{ printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"
}

# Two separate pairs of namespaces, both with left 192.0.2.1 / right 192.0.2.2 and the inner
# addresses 10.1.0.10 / 10.2.0.10: ikeme in il/ir, charon in cl/cr. Both tunnels stay up and
# the iperf3 runs alternate between them, so that both see the same machine load.
pair() {  # LEFT RIGHT
  netns_create "$1"
  netns_create "$2"
  netns_link "$1" "$2" 192.0.2.1/24 192.0.2.2/24
  netns_addr "$1" 10.1.0.10/32
  netns_addr "$2" 10.2.0.10/32
}

echo "esp_throughput: $(nproc) CPUs, ${SECS}s per run, $ROUNDS round(s), one TCP stream, AES-GCM-128, run $IKM_PREFIX"
echo "machine load before: $(cut -d' ' -f1-3 /proc/loadavg)"
pair il ir
pair cl cr
for side in il ir; do
  if [[ $side == il ]]; then la=192.0.2.1 ra=192.0.2.2 lts=10.1.0.10/32 rts=10.2.0.10/32 id=left peer=right
  else la=192.0.2.2 ra=192.0.2.1 lts=10.2.0.10/32 rts=10.1.0.10/32 id=right peer=left; fi
  ikeme_conf_psk_peer "$side" local_addrs="$la" remote_addrs="$ra" local_id="$id@bench" \
    remote_id="$peer@bench" psk="$PSK" local_ts="$lts" remote_ts="$rts" log_level=1 \
    esp_proposals="$IKEME_ESP" extra_daemon="  esp_backend: userspace
  tun_offload: $IKEME_OFFLOAD"
  ikeme_start "$side" "$side"
done
ikeme_ctl il initiate --ike peer --timeout 10 >/dev/null
ikeme_wait_sa il peer peer 10 || ikm_die "ikeme tunnel not up"
for side in cl cr; do
  if [[ $side == cl ]]; then la=192.0.2.1 ra=192.0.2.2 lts=10.1.0.10/32 rts=10.2.0.10/32 id=left peer=right
  else la=192.0.2.2 ra=192.0.2.1 lts=10.2.0.10/32 rts=10.1.0.10/32 id=right peer=left; fi
  charon_conf_psk_peer "$IKM_RUN_DIR/conf-$side" local_addrs="$la" remote_addrs="$ra" \
    local_id="$id@bench" remote_id="$peer@bench" psk="$PSK" local_ts="$lts" remote_ts="$rts" \
    esp_proposals=aes128gcm16 child_rekey_time=0 rekey_time=0
  CHARON_LOG_IKE=1 CHARON_LOG_FLUSH=no charon_start "$side" "$side" "$IKM_RUN_DIR/conf-$side"
  charon_wait_ready "$side"
  charon_load "$side"
done
charon_swanctl cl --initiate --child peer --timeout 10 >/dev/null
charon_wait_sa cl peer peer 10 || ikm_die "charon tunnel not up"

# measure NAME CLIENT_NS SERVER_NS SENDER_PID RECEIVER_PID: one iperf3 run; appends to RESULTS
RESULTS=()
measure() {
  local name=$1 cns=$2 sns=$3 spid=$4 rpid=$5 s0 r0 s1 r1 mbps retr icpu_c icpu_s
  local b0 t0 b1 t1 rb0 td0 rb1 td1 rbs0 rbs1 tds0 tds1 sw0 rw0 sw1 rw1
  read -r rb0 td0 < <(drops "$sns")
  read -r rbs0 tds0 < <(drops "$cns")
  read -r b0 t0 < <(machine_busy)
  s0=$(cpu_s "$spid") r0=$(cpu_s "$rpid") sw0=$(wait_s "$spid") rw0=$(wait_s "$rpid")
  read -r mbps retr icpu_c icpu_s < <(iperf_run "$cns" 10.2.0.10 10.1.0.10 "$sns") ||
    ikm_die "iperf3 through the $name tunnel failed"
  s1=$(cpu_s "$spid") r1=$(cpu_s "$rpid") sw1=$(wait_s "$spid") rw1=$(wait_s "$rpid")
  read -r b1 t1 < <(machine_busy)
  read -r rb1 td1 < <(drops "$sns")
  read -r rbs1 tds1 < <(drops "$cns")
  local cpu eff
  cpu=$(echo "$s1 - $s0 + $r1 - $r0" | bc)
  eff=$(echo "$mbps * $SECS / $cpu" | bc)
  printf '%-36s %5s Mbit/s  retransmits %6s  daemon CPU %5.1f s + %5.1f s  %5s Mbit per CPU-second\n' \
    "$name" "$mbps" "$retr" "$(echo "$s1 - $s0" | bc)" "$(echo "$r1 - $r0" | bc)" "$eff"
  printf '%-36s machine %3d%% busy, daemons waited %s s + %s s for a CPU, iperf3 CPU %s%%/%s%%\n' \
    "" "$(((b1 - b0) * 100 / (t1 - t0)))" "$(echo "$sw1 - $sw0" | bc)" "$(echo "$rw1 - $rw0" | bc)" \
    "$icpu_c" "$icpu_s"
  printf '%-36s UDP rcvbuf drops %s/%s, link tx drops %s/%s (sender/receiver side)\n' \
    "" "$((rbs1 - rbs0))" "$((rb1 - rb0))" "$((tds1 - tds0))" "$((td1 - td0))"
  RESULTS+=("$name $mbps $eff")
}

echo
for ((round = 1; round <= ROUNDS; round++)); do
  perf_pid=""
  if [[ -n "${PERF_OUT:-}" && $round -eq 1 ]]; then  # whole-machine profile of ikeme's first run
    perf record -a -g -F 499 -o "$PERF_OUT" >/dev/null 2>&1 &
    perf_pid=$!
    ikm_on_cleanup "kill -INT $perf_pid 2>/dev/null || true"
  fi
  measure "ikeme userspace ($IKEME_ESP$([[ $IKEME_OFFLOAD == no ]] && echo ", no offload"))" il ir "$(ikeme_pid il)" "$(ikeme_pid ir)"
  if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  measure "charon kernel-libipsec (aes128gcm16)" cl cr "$(charon_pid cl)" "$(charon_pid cr)"
done
echo "machine load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for side in il ir; do  # the ikeme data planes' own counters (offloads, drops)
  echo "ikeme $side data plane: $(ikeme_ctl "$side" --json stats 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin).get("stats", {}).get("dataplane", {})
print(", ".join("%s %s" % (k, v) for k, v in d.items()))' || echo "(no stats)")"
done

echo
"$IKM_RUN_DIR/bin/esp_crypto_speed" 1 1400

# Medians over the rounds.
echo
printf '%s\n' "${RESULTS[@]}" | /usr/bin/python3 -c '
import sys, statistics
rows = {}
for line in sys.stdin:
    *name, mbps, eff = line.split()
    rows.setdefault(" ".join(name), []).append((float(mbps), float(eff)))
names = list(rows)
med = {n: (statistics.median(m for m, _ in r), statistics.median(e for _, e in r)) for n, r in rows.items()}
for n in names:
    print("%-36s median %5.0f Mbit/s, %5.0f Mbit per daemon CPU-second" % (n, *med[n]))
i, c = names[0], names[1]
print("%-36s throughput %.2fx, CPU efficiency %.2fx" % ("ikeme / kernel-libipsec:", med[i][0] / med[c][0], med[i][1] / med[c][1]))
'
