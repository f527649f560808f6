#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ESP throughput through a tunnel between two network namespaces (topo_direct: left 192.0.2.1,
# right 192.0.2.2, inner 10.1.0.10 === 10.2.0.10, AES-GCM-128 ESP): iperf3, one TCP stream,
# left -> right, for SECONDS (default 10) each:
#   1. ikeme-peer <-> ikeme-peer, esp_backend: userspace (TUN + ESP-in-UDP + mbedTLS)
#   2. charon <-> charon (strongSwan 5.9.8) with kernel-libipsec (its userspace ESP)
#   3. the ceiling: mbedTLS 2.28's raw AES-GCM-128 speed on one core (esp_crypto_speed)
# and prints the numbers and the ratio. A benchmark, not a test: it fails only if a tunnel
# cannot be set up. Both tunnels run in the same invocation on the same (shared) CPUs.
#
# usage: tests/bench/esp_throughput.sh [BUILD_DIR=build/release] [SECONDS=10]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD=${1:-$ROOT/build/release}
SECS=${2:-10}
[[ $EUID -eq 0 ]] || { echo "esp_throughput: needs root" >&2; exit 1; }
for tool in iperf3 swanctl /usr/lib/ipsec/charon; do
  command -v "$tool" >/dev/null || { echo "esp_throughput: $tool missing" >&2; exit 1; }
done

INTEROP="$ROOT/tests/interop"
# shellcheck source=../interop/lib/charon.sh
source "$INTEROP/lib/charon.sh"
# shellcheck source=../interop/lib/ikeme.sh
source "$INTEROP/lib/ikeme.sh"
# shellcheck source=../interop/lib/topo.sh
source "$INTEROP/lib/topo.sh"

PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
ikeme_use_binaries "$BUILD/peer/ikeme-peer" "$BUILD/peer/ctl/ikemectl" 60 ||
  ikm_die "no ikeme binaries in $BUILD"
cp "$BUILD/tests/bench/esp_crypto_speed" "$IKM_RUN_DIR/bin/" || ikm_die "no esp_crypto_speed in $BUILD"

# iperf NS_CLIENT DST SRC NS_SERVER -> Mbit/s received
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
print("%.0f %d" % (d["end"]["sum_received"]["bits_per_second"] / 1e6,
                   d["end"]["sum_sent"].get("retransmits", 0)))' <<<"$json"
}

# cpu_s PID: user+system CPU seconds the process used so far
cpu_s() {
  awk '{ printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"
}

echo "esp_throughput: $(nproc) CPUs, ${SECS}s per run, one TCP stream, AES-GCM-128, run $IKM_PREFIX"

# --- 1. ikeme <-> ikeme
topo_direct
for side in left right; do
  if [[ $side == left ]]; then
    la=$TOPO_LEFT_ADDR ra=$TOPO_RIGHT_ADDR lts=$TOPO_LEFT_TS rts=$TOPO_RIGHT_TS id=left peer=right
  else
    la=$TOPO_RIGHT_ADDR ra=$TOPO_LEFT_ADDR lts=$TOPO_RIGHT_TS rts=$TOPO_LEFT_TS id=right peer=left
  fi
  ikeme_conf_psk_peer "$side" local_addrs="$la" remote_addrs="$ra" local_id="$id@bench" \
    remote_id="$peer@bench" psk="$PSK" local_ts="$lts" remote_ts="$rts" log_level=1 \
    esp_proposals=aes128gcm16 extra_daemon="  esp_backend: userspace"
  ikeme_start "$side" "$side"
done
ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null
ikeme_wait_sa left peer peer 10 || ikm_die "ikeme tunnel not up"
cpu_l0=$(cpu_s "$(ikeme_pid left)") cpu_r0=$(cpu_s "$(ikeme_pid right)")
read -r ikeme_mbps ikeme_retr < <(iperf_run left "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" right) ||
  ikm_die "iperf3 through the ikeme tunnel failed"
cpu_l1=$(cpu_s "$(ikeme_pid left)") cpu_r1=$(cpu_s "$(ikeme_pid right)")
ikeme_stop left
ikeme_stop right
topo_destroy

# --- 2. charon <-> charon (kernel-libipsec)
topo_direct
for side in left right; do
  if [[ $side == left ]]; then
    la=$TOPO_LEFT_ADDR ra=$TOPO_RIGHT_ADDR lts=$TOPO_LEFT_TS rts=$TOPO_RIGHT_TS id=left peer=right
  else
    la=$TOPO_RIGHT_ADDR ra=$TOPO_LEFT_ADDR lts=$TOPO_RIGHT_TS rts=$TOPO_LEFT_TS id=right peer=left
  fi
  charon_conf_psk_peer "$IKM_RUN_DIR/conf-$side" local_addrs="$la" remote_addrs="$ra" \
    local_id="$id@bench" remote_id="$peer@bench" psk="$PSK" local_ts="$lts" remote_ts="$rts" \
    esp_proposals=aes128gcm16
  CHARON_LOG_IKE=1 CHARON_LOG_FLUSH=no charon_start "$side" "$side" "$IKM_RUN_DIR/conf-$side"
  charon_wait_ready "$side"
  charon_load "$side"
done
charon_swanctl left --initiate --child peer --timeout 10 >/dev/null
charon_wait_sa left peer peer 10 || ikm_die "charon tunnel not up"
ccpu_l0=$(cpu_s "$(charon_pid left)") ccpu_r0=$(cpu_s "$(charon_pid right)")
read -r charon_mbps charon_retr < <(iperf_run left "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" right) ||
  ikm_die "iperf3 through the charon tunnel failed"
ccpu_l1=$(cpu_s "$(charon_pid left)") ccpu_r1=$(cpu_s "$(charon_pid right)")
charon_stop left
charon_stop right
topo_destroy

# --- 3. the crypto ceiling
echo
"$IKM_RUN_DIR/bin/esp_crypto_speed" 1 1400

echo
printf '%-46s %6s Mbit/s  (TCP retransmits %s; daemon CPU %.1f s sender, %.1f s receiver)\n' \
  "ikeme <-> ikeme, userspace ESP:" "$ikeme_mbps" "$ikeme_retr" \
  "$(echo "$cpu_l1 - $cpu_l0" | bc)" "$(echo "$cpu_r1 - $cpu_r0" | bc)"
printf '%-46s %6s Mbit/s  (TCP retransmits %s; daemon CPU %.1f s sender, %.1f s receiver)\n' \
  "charon <-> charon, kernel-libipsec:" "$charon_mbps" "$charon_retr" \
  "$(echo "$ccpu_l1 - $ccpu_l0" | bc)" "$(echo "$ccpu_r1 - $ccpu_r0" | bc)"
printf '%-46s %6.2fx\n' "ikeme / kernel-libipsec:" "$(echo "$ikeme_mbps / $charon_mbps" | bc -l)"
