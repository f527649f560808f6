#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs inside the kvm-xfrm VM (see xfrm_daemon_test.sh): ikeme-peer daemons with the kernel
# data plane (esp_backend: xfrm / auto) negotiate with IKE in network namespaces and the kernel
# carries their traffic. Cases (tests/interop/lib topologies: left 192.0.2.1, right 192.0.2.2,
# inner 10.1.0.10 === 10.2.0.10):
#   ikeme-ikeme   left (esp_backend: xfrm, firewall: yes) initiates to right (auto, which must
#                 pick xfrm): ping both ways, plain ESP on the wire, `ip -s xfrm state` and
#                 `ikemectl list-sas` counters rising, firewall rules counting; terminate and
#                 SIGTERM leave no SA, policy or route behind
#   ikeme-nat     the same through a NAT (topo_nat): ESP-in-UDP on port 4500, decapsulated by
#                 the kernel on ikeme's NAT-T socket
#                 then CHILD_SA rekeying (CREATE_CHILD_SA) started by left, then by right, each
#                 while left pings right without pause: every echo answered, new SPIs in the
#                 kernel under the same reqid, the old SAs gone, the same IKE SA
#   ikeme-charon  ikeme (left) and charon 5.9.8 with kernel-netlink (right): ping both ways,
#                 counters on both sides; rekeying started by ikeme, then by charon
#                 (swanctl --rekey), under ping, as above
# usage: daemon_cases.sh IKEME_PEER IKEMECTL
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/../interop/lib"
# shellcheck source=../interop/lib/charon.sh
source "$LIB/charon.sh"
# shellcheck source=../interop/lib/ikeme.sh
source "$LIB/ikeme.sh"
# shellcheck source=../interop/lib/topo.sh
source "$LIB/topo.sh"
# shellcheck source=../interop/lib/check.sh
source "$LIB/check.sh"

ikeme_use_binaries "$1" "$2" 10 || ikm_die "cannot use $1 / $2"
PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# Kernel IPsec for charon: kernel-netlink without kernel-libipsec.
CHARON_PLUGINS="random nonce kdf openssl pem pkcs1 x509 pubkey revocation constraints curve25519 sha2 aes hmac gcm vici kernel-netlink socket-default"

# wire_counter NS: counts ESP and ESP-in-UDP arriving in NS (nft named counters).
wire_counters() {
  nsx "$1" nft -f - <<'NFT'
table ip wire {
  counter wire_esp {}
  counter wire_natt {}
  chain in {
    type filter hook input priority -300; policy accept;
    ip protocol esp counter name wire_esp
    udp dport 4500 udp length > 40 counter name wire_natt
  }
}
NFT
}
wire_count() { nsx "$1" nft list counter ip wire "$2" | awk '/packets/ {print $2}'; }
# sa_packets NS: the "lifetime current" packet counts of every SA in NS, summed.
sa_packets() {
  nsx "$1" ip -s xfrm state | awk '/lifetime current:/ {getline; gsub(/\(packets\)/, "", $2); s += $2} END {print s + 0}'
}
kernel_empty() {
  [[ -z "$(nsx "$1" ip -o xfrm state | grep -v 'spi 0x00000000' || true)" &&
    -z "$(nsx "$1" ip xfrm policy)" && -z "$(nsx "$1" ip route show table 220 2>/dev/null)" ]]
}
ping_both() {
  check "$1: ping left -> right through the kernel's tunnel" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
  check "$1: ping right -> left through the kernel's tunnel" netns_ping right "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" 3
}
# ikeme_children NAME: "uniqueid:state" of every CHILD_SA of the first IKE SA, space-separated.
ikeme_children() {
  ikeme_ctl "$1" --json list-sas 2>/dev/null | /usr/bin/python3 -c '
import json, sys
sas = json.load(sys.stdin).get("sas", [])
print(" ".join("%s:%s" % (c["uniqueid"], c["state"]) for c in (sas[0]["child-sas"] if sas else [])))'
}
# reqids NS: the distinct reqids of NS's kernel SAs.
reqids() { nsx "$1" ip xfrm state | { grep -o 'reqid [0-9]*' || true; } | sort -u | awk '{print $2}' | xargs; }
kernel_sa_count() { nsx "$1" ip -o xfrm state | grep -vc 'spi 0x00000000' || true; }
# one_new_child NAME OLD_ID: exactly one CHILD_SA, installed, not OLD_ID.
one_new_child() {
  local c
  c=$(ikeme_children "$1")
  [[ $c =~ ^[0-9]+:INSTALLED$ && ${c%%:*} != "$2" ]]
}

# rekey_under_ping TAG CMD...: runs CMD (which starts a rekeying) while left pings right 150
# times back to back, then checks that every echo was answered, left holds one new CHILD_SA
# (charon: right's SPIs changed), the kernel SAs kept their reqid and the IKE SA stayed.
rekey_under_ping() {
  local tag=$1 old_id old_spi old_reqid ike_id pid rc=0 failed_before=$IKM_CHECKS_FAILED
  shift
  old_id=$(ikeme_child_get left peer peer uniqueid)
  old_spi=$(ikeme_child_get left peer peer spi-in)
  old_reqid=$(reqids left)
  ike_id=$(ikeme_ike_get left peer uniqueid)
  netns_spawn left "$IKM_RUN_DIR/ping-$tag.log" /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" \
    "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 150
  pid=$NETNS_SPAWN_PID
  sleep 0.2
  "$@" >/dev/null 2>&1 || true
  check "$tag: left holds one new CHILD_SA" ikm_wait_until 10 one_new_child left "$old_id"
  wait "$pid" || rc=$?
  check_eq "$tag: every echo answered during the rekeying" 0 "$rc"
  check_ne "$tag: new inbound SPI on left" "$old_spi" "$(ikeme_child_get left peer peer spi-in)"
  check_eq "$tag: the IKE SA stays (a rekeying, not a reauthentication)" "$ike_id" \
    "$(ikeme_ike_get left peer uniqueid)"
  check "$tag: the old kernel SAs are gone on left" ikm_wait_until 5 test "$(kernel_sa_count left)" -eq 2
  check_eq "$tag: the new kernel SAs kept the reqid" "$old_reqid" "$(reqids left)"
  check "$tag: the new CHILD_SA carries traffic" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
  check "$tag: list-sas counts it" test "$(ikeme_child_get left peer peer packets-in)" -ge 3
  if ((IKM_CHECKS_FAILED > failed_before)); then
    nsx left ip xfrm state >&2 || true
    ikeme_dump_logs left
  fi
}

ikeme_side() {
  local name=$1 local=$2 remote=$3 lts=$4 rts=$5 id=$6 peer_id=$7 daemon=$8
  shift 8
  ikeme_conf_psk_peer "$name" local_addrs="$local" remote_addrs="$remote" local_id="$id" \
    remote_id="$peer_id" psk="$PSK" local_ts="$lts" remote_ts="$rts" log_level=1 \
    retransmit_timeout=3s retransmit_tries=3 extra_daemon="$daemon" "$@"
}

ikeme_pair() {
  local tag=$1 natt=$2 t0
  t0=$(ikm_now_ms)
  wire_counters right
  ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" \
    left@ikeme.test right@ikeme.test "  esp_backend: xfrm
  firewall: yes"
  ikeme_side right "$TOPO_RIGHT_ADDR" '"%any"' "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" \
    right@ikeme.test left@ikeme.test "  esp_backend: auto"
  # Under TCG the first kernel SA makes the kernel load its crypto modules: seconds, hence the
  # generous start and retransmission timeouts.
  ikeme_start right right 15 && ikeme_start left left 15 || true
  check "$tag: right's auto picked the kernel" grep -q "ESP data plane: xfrm (esp_backend auto" "$(ikeme_log right)"
  ikeme_ctl left initiate --ike peer --timeout 20 >/dev/null 2>&1 || true
  if ikeme_wait_sa left peer peer 20 && ikeme_wait_sa right peer peer 5; then
    check_pass "$tag: IKE and CHILD_SA established"
    check_eq "$tag: left's CHILD_SA in the kernel" xfrm "$(ikeme_child_get left peer peer dataplane)"
    check_eq "$tag: right's CHILD_SA in the kernel" xfrm "$(ikeme_child_get right peer peer dataplane)"
    ping_both "$tag"
    if ((natt)); then
      check "$tag: ESP-in-UDP on the wire" test "$(wire_count right wire_natt)" -ge 6
      check_eq "$tag: no plain ESP on the wire" 0 "$(wire_count right wire_esp)"
    else
      check "$tag: plain ESP on the wire" test "$(wire_count right wire_esp)" -ge 6
    fi
    check "$tag: ip -s xfrm state counts >= 12 packets in left" test "$(sa_packets left)" -ge 12
    check "$tag: list-sas packets-in on right" test "$(ikeme_child_get right peer peer packets-in)" -ge 6
    check "$tag: list-sas bytes-out on left" test "$(ikeme_child_get left peer peer bytes-out)" -gt 0
    check "$tag: firewall counted left's tunnelled input" \
      bash -c "ip netns exec $(ns left) nft list ruleset | grep -A2 'chain child_.*_in' | grep -Eq 'counter packets [1-9]'"
    if ((!natt)); then
      rekey_under_ping "$tag-rekey-left" ikeme_ctl left rekey --child-id "$(ikeme_child_get left peer peer uniqueid)"
      rekey_under_ping "$tag-rekey-right" ikeme_ctl right rekey --child-id "$(ikeme_child_get right peer peer uniqueid)"
    fi
    ikeme_ctl left terminate --ike peer --timeout 5 >/dev/null 2>&1 || true
    ikeme_wait_no_sa left 5 || true
    check "$tag: terminate removed left's SAs, policies and routes" ikm_wait_until 5 kernel_empty left
    check "$tag: terminate removed right's too" ikm_wait_until 5 kernel_empty right
  else
    check_fail "$tag: IKE and CHILD_SA established"
    ikeme_dump_logs left
    ikeme_dump_logs right
  fi
  ikeme_signal_wait left TERM
  check_eq "$tag: left exits 0 on SIGTERM" 0 "$IKEME_EXIT"
  check "$tag: no nftables table after exit" bash -c "! ip netns exec $(ns left) nft list table inet ikeme 2>/dev/null"
  ikeme_stop right
  ikm_log "$tag: $(($(ikm_now_ms) - t0)) ms"
  topo_destroy
}

topo_direct
ikeme_pair ikeme-ikeme 0
# shellcheck disable=SC2119  # no port range: a plain masquerading NAT
topo_nat
ikeme_pair ikeme-nat 1

# ikeme <-> charon (kernel-netlink)
t0=$(ikm_now_ms)
topo_direct
wire_counters right
charon_conf_psk_peer "$IKM_RUN_DIR/conf-right" local_addrs="$TOPO_RIGHT_ADDR" remote_addrs=%any \
  local_id=right@ikeme.test remote_id=left@ikeme.test psk="$PSK" esp_proposals=aes128gcm16 \
  local_ts="$TOPO_RIGHT_TS" remote_ts="$TOPO_LEFT_TS" rekey_time=0 child_rekey_time=0
charon_start right right "$IKM_RUN_DIR/conf-right"
charon_wait_ready right && charon_load right || true
ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" \
  left@ikeme.test right@ikeme.test "  esp_backend: xfrm" esp_proposals=aes128gcm16
ikeme_start left left 15 || true
ikeme_ctl left initiate --ike peer --timeout 20 >/dev/null 2>&1 || true
if ikeme_wait_sa left peer peer 20 && charon_wait_sa right peer peer 5; then
  check_pass "ikeme-charon: SAs established"
  ping_both ikeme-charon
  check "ikeme-charon: plain ESP on the wire" test "$(wire_count right wire_esp)" -ge 6
  check "ikeme-charon: ikeme's kernel SAs count >= 12 packets" test "$(sa_packets left)" -ge 12
  check "ikeme-charon: charon's kernel SAs count >= 12 packets" test "$(sa_packets right)" -ge 12
  check "ikeme-charon: list-sas packets-out on ikeme" test "$(ikeme_child_get left peer peer packets-out)" -ge 6
  charon_spi=$(charon_child_get right peer peer spi-in)
  rekey_under_ping ikeme-charon-rekey-ikeme ikeme_ctl left rekey --child-id "$(ikeme_child_get left peer peer uniqueid)"
  check_ne "ikeme-charon: charon's inbound SPI changed" "$charon_spi" "$(charon_child_get right peer peer spi-in)"
  charon_spi=$(charon_child_get right peer peer spi-in)
  rekey_under_ping ikeme-charon-rekey-charon charon_swanctl right --rekey --child peer
  check_ne "ikeme-charon: charon's inbound SPI changed again" "$charon_spi" "$(charon_child_get right peer peer spi-in)"
  check "ikeme-charon: charon closed the rekeyed CHILD_SAs" grep -q "closing CHILD_SA" "$(charon_log right)"
else
  check_fail "ikeme-charon: SAs established"
  ikeme_dump_logs left
  charon_dump_logs right
fi
ikeme_signal_wait left TERM
check "ikeme-charon: ikeme's SAs and policies gone after exit" kernel_empty left
ikm_log "ikeme-charon: $(($(ikm_now_ms) - t0)) ms"

check_summary
