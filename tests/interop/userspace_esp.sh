#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The userspace ESP data plane (esp_backend: userspace: TUN device + ESP-in-UDP) on real sockets
# in network namespaces (topo_direct: left 192.0.2.1, right 192.0.2.2; inner addresses
# 10.1.0.10 on left's lo and 10.2.0.10 on right's lo, selectors 10.1.0.10/32 === 10.2.0.10/32).
# Cases (PASS/FAIL lines):
#   ikeme-ikeme     two ikeme-peers, left initiates: encap forced (faked NAT detection) and
#                   port 4500 on both sides, ICMP echo both ways through the tunnel, iperf3 TCP
#                   both ways (2 s each) with the TUN offloads on (GSO packets segmented, inbound
#                   TCP segments joined), per-CHILD_SA counters in ikemectl list-sas (JSON and
#                   text); then hostile ESP from left's namespace (esp_inject.py: replayed,
#                   corrupted, short and unknown-SPI datagrams) is dropped and counted by right,
#                   which keeps forwarding; SIGKILL of right (its TUN device disappears) and a
#                   restart over a persistent leftover device of the same name with a stale
#                   address and route (taken over and cleaned), and a new SA carries traffic; a 3 s life_time on left
#                   with rekeying off (rekey_time 0) expires: left deletes the IKE SA and
#                   reauthenticates, pings pass over the new CHILD_SA (rekeying itself:
#                   child_rekey.sh); SIGTERM removes the device
#   ikeme-charon    ikeme (left, initiator) and charon 5.9.8 with kernel-libipsec (right): ping
#                   and iperf3 both ways, counters rise on both sides, hostile ESP from right's
#                   namespace dropped and counted by ikeme
#   charon-ikeme    charon initiates (left), ikeme responds (right): ping both ways
#   ipv6-inner      ikeme <-> ikeme with IPv6 selectors over IPv4: route via the TUN device,
#                   iperf3 TCP over IPv6 both ways (1 s each)
#   chacha/cbc      ikeme <-> charon with chacha20poly1305 and aes256-sha384 ESP: ping both ways
#
# usage: tests/interop/userspace_esp.sh [IKEME_PEER [IKEMECTL [CASE_FILTER]]]
# Needs root (fails, does not skip, without it). Exit 0 only if every check passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, TUN devices" ip swanctl unshare iperf3 /usr/bin/python3 /usr/lib/ipsec/charon /dev/net/tun

# shellcheck source=lib/charon.sh
source "$HERE/lib/charon.sh"
# shellcheck source=lib/ikeme.sh
source "$HERE/lib/ikeme.sh"
# shellcheck source=lib/topo.sh
source "$HERE/lib/topo.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

PEER_ARG=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_ARG=${2:-$ROOT/build/release/peer/ctl/ikemectl}
FILTER=${3:-${IKM_FILTER:-}}
PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

echo "userspace_esp: run prefix $IKM_PREFIX"
ikeme_use_binaries "$PEER_ARG" "$CTL_ARG" 60 || pre_fail "cannot use $PEER_ARG / $CTL_ARG"

want() { [[ -z "$FILTER" || "$1" == *"$FILTER"* ]]; }

# ikeme_side NAME LOCAL REMOTE LOCAL_TS REMOTE_TS ID PEER_ID [key=value...]
ikeme_side() {
  local name=$1 local=$2 remote=$3 lts=$4 rts=$5 id=$6 peer_id=$7
  shift 7
  ikeme_conf_psk_peer "$name" local_addrs="$local" remote_addrs="$remote" local_id="$id" \
    remote_id="$peer_id" psk="$PSK" local_ts="$lts" remote_ts="$rts" \
    extra_daemon="  esp_backend: userspace
  tun_name: ikm$name" "$@"
}

# iperf NS_CLIENT SRC DST SERVER_NS [SECONDS=2] -> Mbit/s (prints), 1 on failure
iperf_mbps() {
  local cns=$1 src=$2 dst=$3 sns=$4 secs=${5:-2} log json
  log="$IKM_RUN_DIR/iperf-$RANDOM"
  netns_spawn "$sns" "$log.server" iperf3 -s -1 -B "$dst"
  local spid=$NETNS_SPAWN_PID
  sleep 0.3
  json=$(nsx "$cns" iperf3 -c "$dst" -B "$src" -t "$secs" -J 2>/dev/null) || {
    ikm_stop_pid "$spid" 5
    return 1
  }
  ikm_stop_pid "$spid" 5
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"]/1e6))' <<<"$json"
}

child_counter() { ikeme_child_get "$1" peer peer "$2"; }

# dp_stat NAME KEY: a member of ikemectl --json stats' "dataplane" object
dp_stat() {
  ikeme_ctl "$1" --json stats | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["dataplane"].get(sys.argv[1], ""))' "$2"
}

ping_both() {
  local tag=$1
  check "$tag: ping left -> right through the tunnel" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
  check "$tag: ping right -> left through the tunnel" netns_ping right "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" 3
}

iperf_both() {
  local tag=$1 up down
  up=$(iperf_mbps left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" right 2 || true)
  down=$(iperf_mbps right "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" left 2 || true)
  check "$tag: iperf3 TCP left -> right (${up:-failed} Mbit/s)" test -n "$up" -a "${up:-0}" -gt 0
  check "$tag: iperf3 TCP right -> left (${down:-failed} Mbit/s)" test -n "$down" -a "${down:-0}" -gt 0
}

# inject FROM_NS IFACE PEER_ADDR: hostile ESP while a ping keeps traffic flowing
inject() {
  local from=$1 iface=$2 peer=$3 src=$4 dst=$5
  ( for _ in 1 2 3 4 5 6; do nsx "$from" /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" "$src" "$dst" 1 >/dev/null 2>&1 || true; done ) &
  local pinger=$!
  nsx "$from" /usr/bin/python3 "$IKM_LIB_DIR/esp_inject.py" "$iface" "$peer" 4500 5
  local rc=$?
  wait "$pinger" 2>/dev/null || true
  return "$rc"
}

check_injection_counted() {
  local tag=$1 name=$2
  local replay integ malformed unknown
  replay=$(child_counter "$name" dropped-replay)
  integ=$(child_counter "$name" dropped-integrity)
  malformed=$(child_counter "$name" dropped-malformed)
  unknown=$(dp_stat "$name" unknown-spi)
  check "$tag: replayed datagrams dropped and counted (dropped-replay=$replay)" test "${replay:-0}" -ge 3
  check "$tag: corrupted datagrams dropped by the ICV check (dropped-integrity=$integ)" test "${integ:-0}" -ge 2
  check "$tag: short datagram dropped as malformed (dropped-malformed=$malformed)" test "${malformed:-0}" -ge 1
  check "$tag: unknown-SPI datagrams dropped and counted (unknown-spi=$unknown)" test "${unknown:-0}" -ge 2
  check "$tag: ikeme-peer $name survived" kill -0 "$(ikeme_pid "$name")"
}

# --------------------------------------------------------------------------------------------
if want ikeme-ikeme; then
  tag="[ikeme-ikeme]"
  topo_direct
  ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" left@ikeme.test right@ikeme.test
  ikeme_side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" right@ikeme.test left@ikeme.test
  ikeme_start right right && ikeme_start left left || true
  ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa left peer peer 10 && ikeme_wait_sa right peer peer 5; then
    check_pass "$tag: SA established"
    check_eq "$tag: left's CHILD_SA is UDP-encapsulated" true "$(child_counter left encap)"
    check_eq "$tag: left's IKE SA moved to port 4500" 4500 "$(ikeme_ike_get left peer local-port)"
    check_eq "$tag: right's data plane" userspace "$(child_counter right dataplane)"
    check "$tag: left logged the forced encapsulation" grep -q "encap: yes forced on 1 connection" "$(ikeme_log left)"
    check "$tag: left faked NAT detection" grep -q "faking NAT situation to enforce UDP encapsulation" "$(ikeme_log left)"
    check "$tag: TUN device ikmright exists in right's namespace" nsx right ip link show ikmright
    ping_both "$tag"
    iperf_both "$tag"
    check "$tag: right logged its TUN offloads" grep -q "offloads: csum tso4 tso6" "$(ikeme_log right)"
    check_ne "$tag: right cut GSO packets from its TUN device into segments" 0 "$(dp_stat right gso-segments)"
    check_ne "$tag: right joined inbound TCP segments into GSO writes" 0 "$(dp_stat right joined-segments)"
    check_ne "$tag: right counts inbound packets" 0 "$(child_counter right packets-in)"
    check_ne "$tag: right counts outbound bytes" 0 "$(child_counter right bytes-out)"
    check "$tag: ikemectl list-sas shows the counters" bash -c "'$IKEMECTL' --socket '$(ikeme_sock right)' list-sas | grep -Eq 'in  [0-9a-f]{8}, +[0-9]+ bytes'"
    if inject left "$(netns_ifname left right)" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER"; then
      check_pass "$tag: hostile ESP sent"
    else
      check_fail "$tag: hostile ESP sent" "no ESP captured"
    fi
    check_injection_counted "$tag" right
    ping_both "$tag after injection"
    # Crash and restart: the kernel removes the non-persistent TUN device with the process.
    ikeme_signal_wait right KILL
    check "$tag: TUN device gone after SIGKILL" bash -c "! ip -n '$(ns right)' link show ikmright"
    # A persistent device of the same name with a stale address and route (as a tool or an
    # admin might leave one): the restarted daemon takes it over and cleans it.
    nsx right ip tuntap add dev ikmright mode tun
    nsx right ip addr add 10.99.0.1/32 dev ikmright
    nsx right ip link set ikmright up
    nsx right ip route add 10.98.0.0/16 dev ikmright
    ikeme_start right right || true
    check "$tag: restarted right took over the leftover device" grep -q "took over the existing TUN device ikmright (now non-persistent); [1-9][0-9]* stale address(es) removed" "$(ikeme_log right)"
    check "$tag: the stale address is gone" bash -c "! ip -n '$(ns right)' addr show dev ikmright | grep -q 10.99.0.1"
    check "$tag: the stale route is gone" bash -c "! ip -n '$(ns right)' route show | grep -q 10.98.0.0"
    ikeme_ctl left terminate --ike peer --timeout 5 >/dev/null 2>&1 || true
    ikeme_wait_no_sa left 5 || true
    ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
    if ikeme_wait_sa left peer peer 10 && ikeme_wait_sa right peer peer 5; then
      check_pass "$tag: SA re-established after right's restart"
      ping_both "$tag after restart"
    else
      check_fail "$tag: SA re-established after right's restart"
    fi
    # life_time reached with rekeying off (rekey_time 0: no CREATE_CHILD_SA at a soft expiry):
    # the data plane's HardExpire makes left delete the IKE SA and initiate again; traffic
    # flows over the new CHILD_SA. (Rekeying before the life_time is child_rekey.sh's job.)
    spi_before=$(child_counter left spi-in)
    sed -i 's/^        dpd_action: clear$/        dpd_action: clear\n        rekey_time: 0\n        life_time: 3s/' "$(ikeme_dir left)/peer.yaml"
    check "$tag: left reloads rekey_time 0 (no rekeying) and a 3 s life_time" ikeme_ctl left reload
    ikeme_ctl left terminate --ike peer --timeout 5 >/dev/null 2>&1 || true
    ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
    ikeme_wait_sa left peer peer 10 || true
    spi_short=$(child_counter left spi-in)
    if ikm_wait_until 12 bash -c "grep -q 'expired (life time or sequence numbers used up): deleting IKE SA #[0-9]* and reauthenticating' '$(ikeme_log left)'"; then
      check_pass "$tag: life_time expiry deletes the IKE SA and reauthenticates"
      check "$tag: no rekeying with rekey_time 0" bash -c "! grep -q 'rekeying CHILD_SA' '$(ikeme_log left)'"
      ikeme_wait_sa left peer peer 10 || true
      spi_after=$(child_counter left spi-in)
      check "$tag: a new CHILD_SA after the expiry ($spi_short -> $spi_after)" test -n "$spi_after" -a "$spi_after" != "$spi_short" -a "$spi_after" != "$spi_before"
      ping_both "$tag after reauthentication"
    else
      check_fail "$tag: life_time expiry deletes the IKE SA and reauthenticates"
    fi
    ikeme_signal_wait right TERM
    check_eq "$tag: right exits 0 on SIGTERM" 0 "$IKEME_EXIT"
    check "$tag: TUN device removed on exit" bash -c "! ip -n '$(ns right)' link show ikmright"
    check "$tag: right logged the shutdown" grep -q "userspace data plane shut down" "$(ikeme_log right)"
  else
    check_fail "$tag: SA established"
    ikeme_dump_logs left
    ikeme_dump_logs right
  fi
  ikeme_stop left
  ikeme_stop right
  topo_destroy
fi

# charon_side NAME NS LOCAL REMOTE LTS RTS ID PEER_ID ESP [start_action]
charon_side() {
  local name=$1 nsname=$2 local=$3 remote=$4 lts=$5 rts=$6 id=$7 peer_id=$8 esp=$9
  local dir="$IKM_RUN_DIR/conf-$name"
  charon_conf_psk_peer "$dir" local_addrs="$local" remote_addrs="$remote" local_id="$id" \
    remote_id="$peer_id" psk="$PSK" local_ts="$lts" remote_ts="$rts" esp_proposals="$esp" \
    child_rekey_time=0 rekey_time=0
  charon_start "$nsname" "$name" "$dir"
  charon_wait_ready "$name" && charon_load "$name"
}

ikeme_charon_case() {
  local tag=$1 esp_ikeme=$2 esp_charon=$3 full=${4:-0}
  topo_direct
  charon_side right right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" right@ikeme.test left@ikeme.test "$esp_charon" || true
  ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" left@ikeme.test right@ikeme.test esp_proposals="$esp_ikeme"
  ikeme_start left left || true
  ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa left peer peer 10 && charon_wait_sa right peer peer 5; then
    check_pass "$tag: SA established"
    ping_both "$tag"
    if ((full)); then
      iperf_both "$tag"
      check_ne "$tag: ikeme counts inbound packets" 0 "$(child_counter left packets-in)"
      check_ne "$tag: charon counts inbound bytes" 0 "$(charon_child_get right peer peer bytes-in)"
      if inject right "$(netns_ifname right left)" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER"; then
        check_pass "$tag: hostile ESP sent"
      else
        check_fail "$tag: hostile ESP sent" "no ESP captured"
      fi
      check_injection_counted "$tag" left
      ping_both "$tag after injection"
    fi
  else
    check_fail "$tag: SA established"
    ikeme_dump_logs left
    charon_dump_logs right 2>/dev/null || true
  fi
  ikeme_stop left
  charon_stop right
  topo_destroy
}

if want ikeme-charon; then
  ikeme_charon_case "[ikeme-charon]" aes128gcm16 aes128gcm16 1
fi

if want charon-ikeme; then
  tag="[charon-ikeme]"
  topo_direct
  ikeme_side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" right@ikeme.test left@ikeme.test esp_proposals=aes256gcm16
  ikeme_start right right || true
  charon_side left left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" left@ikeme.test right@ikeme.test aes256gcm16 || true
  charon_swanctl left --initiate --child peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa right peer peer 10 && charon_wait_sa left peer peer 5; then
    check_pass "$tag: SA established"
    ping_both "$tag"
  else
    check_fail "$tag: SA established"
    ikeme_dump_logs right
  fi
  ikeme_stop right
  charon_stop left
  topo_destroy
fi

if want ipv6-inner; then
  # IPv6 inside the tunnel (next header 41), IPv4 outside.
  tag="[ipv6-inner]"
  topo_direct
  nsx left ip -6 addr add fd00:1::10/128 dev lo nodad
  nsx right ip -6 addr add fd00:2::10/128 dev lo nodad
  ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" fd00:1::10/128 fd00:2::10/128 left@ikeme.test right@ikeme.test
  ikeme_side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" fd00:2::10/128 fd00:1::10/128 right@ikeme.test left@ikeme.test
  ikeme_start right right && ikeme_start left left || true
  ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa left peer peer 10 && ikeme_wait_sa right peer peer 5; then
    check_pass "$tag: SA established"
    check "$tag: route to fd00:2::10 through the TUN device" bash -c "ip -n '$(ns left)' -6 route show fd00:2::10 | grep -q 'dev ikmleft'"
    up=$(iperf_mbps left fd00:1::10 fd00:2::10 right 1 || true)
    down=$(iperf_mbps right fd00:2::10 fd00:1::10 left 1 || true)
    check "$tag: iperf3 TCP over IPv6 left -> right (${up:-failed} Mbit/s)" test -n "$up" -a "${up:-0}" -gt 0
    check "$tag: iperf3 TCP over IPv6 right -> left (${down:-failed} Mbit/s)" test -n "$down" -a "${down:-0}" -gt 0
  else
    check_fail "$tag: SA established"
    ikeme_dump_logs left
  fi
  ikeme_stop left
  ikeme_stop right
  topo_destroy
fi

if want chacha; then
  ikeme_charon_case "[chacha]" chacha20poly1305 chacha20poly1305
fi
if want cbc; then
  ikeme_charon_case "[cbc]" aes256-sha384 aes256-sha384
fi

check_summary
