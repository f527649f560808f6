#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Runs inside the kvm-xfrm VM (see xfrm_kernel_test.sh): two namespaces joined by a veth, an
# xfrm_driver in each with mirrored CHILD_SAs, and for each case: a ping through the tunnel, the
# ESP (or ESP-in-UDP) packets on the wire, counters from counters() and `ip -s xfrm state`,
# routes with src, firewall counters, expiry and acquire events, and an empty kernel after
# shutdown and after a crash followed by a flush.
# usage: vm_cases.sh XFRM_DRIVER
set -euo pipefail
DRIVER=$1
LIB=$(cd "$(dirname "$0")/../interop/lib" && pwd)
# shellcheck source=../interop/lib/netns.sh
source "$LIB/netns.sh"
# shellcheck source=../interop/lib/check.sh
source "$LIB/check.sh"

LEFT=192.0.2.1 RIGHT=192.0.2.2
SPI_L=0xc1000001 SPI_R=0xc2000002  # inbound SPIs of left and right
netns_create left
netns_create right
netns_link left right $LEFT/24 $RIGHT/24
netns_addr left 10.1.0.1/32
netns_addr right 10.2.0.1/32
# ESP / ESP-in-UDP arriving at right, counted on the wire.
nsx right nft -f - <<'NFT'
table ip wire {
  chain in {
    type filter hook input priority -300; policy accept;
    ip protocol esp counter name wire_esp
    udp dport 4500 counter name wire_natt
  }
  counter wire_esp {}
  counter wire_natt {}
}
NFT
wire_count() { nsx right nft list counter ip wire "$1" | awk '/packets/ {print $2}'; }

# start_pair NAME ARGS...: a driver in each namespace; per-side args via L_ARGS / R_ARGS arrays.
start_pair() {
  local name=$1
  netns_spawn left "$IKM_RUN_DIR/$name-left.log" "$DRIVER" --local $LEFT --remote $RIGHT \
    --spi-in $SPI_L --spi-out $SPI_R --state "$IKM_RUN_DIR/$name-left.state" "${L_ARGS[@]}"
  PID_L=$NETNS_SPAWN_PID
  netns_spawn right "$IKM_RUN_DIR/$name-right.log" "$DRIVER" --local $RIGHT --remote $LEFT \
    --spi-in $SPI_R --spi-out $SPI_L --state "$IKM_RUN_DIR/$name-right.state" "${R_ARGS[@]}"
  PID_R=$NETNS_SPAWN_PID
  ikm_wait_until 20 grep -q '^ready' "$IKM_RUN_DIR/$name-left.log" &&
    ikm_wait_until 20 grep -q '^ready' "$IKM_RUN_DIR/$name-right.log"
}
stop_pair() {
  ikm_stop_pid "$PID_L" 100
  ikm_stop_pid "$PID_R" 100
}
dump_logs() {
  local f
  for f in "$IKM_RUN_DIR"/*.log; do
    echo "--- $f"
    tail -n 20 "$f"
  done
  nsx left ip -s xfrm state || true
  nsx left ip xfrm policy || true
}
# counter_of NAME SIDE KEY: a value from the driver's counters() state file.
counter_of() {
  tr ' ' '\n' <"$IKM_RUN_DIR/$1-$2.state" | awk -F= -v k="$3" '$1 == k {print $2}'
}
# xfrm_packets NS SPI: "lifetime current" packets of the SA, from ip -s xfrm state.
xfrm_packets() {
  nsx "$1" ip -s xfrm state get src "$3" dst "$4" proto esp spi "$2" 2>/dev/null |
    awk '/lifetime current:/ {getline; gsub(/\(packets\)/, "", $2); print $2}'
}
kernel_empty() {
  local ns=$1 left
  # Larval SAs (SPI 0) from an acquire cannot be deleted by SPI; the kernel drops them after
  # net.core.xfrm_acq_expires. Everything else must be gone.
  left="$(nsx "$ns" ip -o xfrm state | grep -v 'spi 0x00000000' || true)$(nsx "$ns" ip xfrm policy)$(nsx "$ns" ip route show table 220 2>/dev/null)"
  if nsx "$ns" nft list table inet ikeme >/dev/null 2>&1; then left+="nft table inet ikeme"; fi
  [[ -z "$left" ]] || echo "left in $ns: $left" >&2
  [[ -z "$left" ]]
}

# tunnel_case NAME ALG EXTRA...: tunnel mode between 10.1.0.0/24 and 10.2.0.0/24; EXTRA for both
# drivers, L_EXTRA for left's only.
L_EXTRA=()
tunnel_case() {
  local name=$1 alg=$2
  shift 2
  local t0 esp0 natt0
  t0=$(ikm_now_ms)
  esp0=$(wire_count wire_esp) natt0=$(wire_count wire_natt)
  L_ARGS=(--local-ts 10.1.0.0/24 --remote-ts 10.2.0.0/24 --alg "$alg" "$@" "${L_EXTRA[@]}")
  R_ARGS=(--local-ts 10.2.0.0/24 --remote-ts 10.1.0.0/24 --alg "$alg" "$@")
  check "$name: both CHILD_SAs installed" start_pair "$name"
  check "$name: route into the tunnel has src 10.1.0.1" \
    bash -c "ip -n $(ns left) route show table 220 | grep -q '10.2.0.0/24 .*src 10.1.0.1'"
  check "$name: ping 10.1.0.1 -> 10.2.0.1 through the tunnel" netns_ping left 10.1.0.1 10.2.0.1 3
  if [[ " ${L_EXTRA[*]} " == *" --vip "* ]]; then
    check "$name: virtual IP moved from lo to the interface towards the peer" \
      bash -c "ip -n $(ns left) addr show dev vright | grep -q 'inet 10.1.0.77/32' && ! ip -n $(ns left) addr show dev lo | grep -q 10.1.0.77"
    check "$name: ping from the virtual IP through the tunnel" netns_ping left 10.1.0.77 10.2.0.1 1
  fi
  if [[ " $* " == *" --encap "* ]]; then
    check "$name: ESP-in-UDP on the wire" test "$(wire_count wire_natt)" -ge $((natt0 + 3))
    check_eq "$name: no plain ESP on the wire" "$(wire_count wire_esp)" "$esp0"
  else
    check "$name: ESP on the wire" test "$(wire_count wire_esp)" -ge $((esp0 + 3))
  fi
  sleep 0.5  # one state file refresh
  check "$name: counters() in >= 3 packets" test "$(counter_of "$name" left packets_in)" -ge 3
  check "$name: counters() out >= 3 packets" test "$(counter_of "$name" left packets_out)" -ge 3
  check "$name: counters() bytes in > 0" test "$(counter_of "$name" right bytes_in)" -gt 0
  check "$name: ip -s xfrm state: outbound SA carried >= 3 packets" \
    test "$(xfrm_packets left $SPI_R $LEFT $RIGHT)" -ge 3
  if [[ " $* " == *" --firewall "* ]]; then
    check "$name: firewall admitted inbound tunnel traffic" \
      bash -c "ip netns exec $(ns right) nft list chain inet ikeme child_1_in | grep -Eq 'counter packets [1-9]'"
    check "$name: firewall admitted outbound tunnel traffic" \
      bash -c "ip netns exec $(ns right) nft list chain inet ikeme child_1_out | grep -Eq 'counter packets [1-9]'"
  fi
  stop_pair
  check_empty "$name: shutdown left nothing in left" left
  check_empty "$name: shutdown left nothing in right" right
  check "$name: routing rule removed" bash -c "! ip -n $(ns left) rule | grep -q 'lookup 220'"
  check "$name: no virtual IP left" bash -c "! ip -n $(ns left) addr | grep -q 10.1.0.77"
  ikm_log "$name: $(($(ikm_now_ms) - t0)) ms"
}

transport_case() {
  local name=$1 alg=$2 esp0 t0
  t0=$(ikm_now_ms)
  esp0=$(wire_count wire_esp)
  L_ARGS=(--mode transport --local-ts "$LEFT/32" --remote-ts "$RIGHT/32" --alg "$alg")
  R_ARGS=(--mode transport --local-ts "$RIGHT/32" --remote-ts "$LEFT/32" --alg "$alg")
  check "$name: both CHILD_SAs installed" start_pair "$name"
  check "$name: ping $LEFT -> $RIGHT in transport mode" netns_ping left $LEFT $RIGHT 3
  check "$name: ESP on the wire" test "$(wire_count wire_esp)" -ge $((esp0 + 3))
  check "$name: bypass policy keeps IKE (udp 500) in the clear" \
    bash -c "ip -n $(ns left) xfrm policy | grep -q 'proto udp sport 500 dport 500'"
  check "$name: ip -s xfrm state: inbound SA carried >= 3 packets" \
    test "$(xfrm_packets left $SPI_L $RIGHT $LEFT)" -ge 3
  stop_pair
  check_empty "$name: shutdown left nothing" left
  ikm_log "$name: $(($(ikm_now_ms) - t0)) ms"
}

# check_empty DESC NS: like check, but shows what was left behind.
check_empty() {
  if kernel_empty "$2" 2>"$IKM_RUN_DIR/left.txt"; then
    check_pass "$1"
  else
    check_fail "$1" "$(tr '\n' ' ' <"$IKM_RUN_DIR/left.txt")"
  fi
}
ikm_on_cleanup '((IKM_CHECKS_FAILED == 0)) || dump_logs || true'

# CASES (space-separated names) limits a run to some cases, for debugging.
want() { [[ -z "${CASES:-}" || " $CASES " == *" $1 "* ]]; }
check "probe in the VM: the kernel has ESP" "$DRIVER" --probe
if want tunnel; then
  # A virtual IP for left: on the interface towards right, usable as a tunnel source, removed
  # on shutdown (checked after the case).
  L_EXTRA=(--vip 10.1.0.77)
  tunnel_case tunnel aes256-sha384
  L_EXTRA=()
fi
want transport && transport_case transport aes128gcm16-esn
want encap && tunnel_case encap chacha20poly1305 --encap
want firewall && tunnel_case firewall aes256-sha512 --firewall

# Expiry: soft after 2 s, hard after 5 s; after the hard expiry, traffic hits the out policy
# without an SA and the kernel asks for one (acquire). The kernel skips the soft expiry of an SA
# whose timer runs only after both limits have passed (TCG under load can be that late), so one
# soft expiry is required, and both hard ones.
L_ARGS=(--local-ts 10.1.0.0/24 --remote-ts 10.2.0.0/24 --soft 2 --hard 5)
R_ARGS=(--local-ts 10.2.0.0/24 --remote-ts 10.1.0.0/24 --soft 2 --hard 5)
check "expiry: installed" start_pair expiry
check "expiry: a soft expiry event" \
  ikm_wait_until 10 grep -q '^event soft-expire uid=1 ' "$IKM_RUN_DIR/expiry-left.log"
check "expiry: hard expiry events for both SAs" \
  ikm_wait_until 10 bash -c "[[ \$(grep -c '^event hard-expire uid=1' $IKM_RUN_DIR/expiry-left.log) -ge 2 ]]"
check "expiry: the kernel removed the SAs" bash -c "[[ -z \$(ip -n $(ns left) xfrm state) ]]"
netns_ping left 10.1.0.1 10.2.0.1 1 >/dev/null || true
check "expiry: acquire for 10.1.0.1 -> 10.2.0.1" \
  ikm_wait_until 5 grep -q '^event acquire uid=0 .*ts=10.1.0.1/32.*==10.2.0.1/32' "$IKM_RUN_DIR/expiry-left.log"
stop_pair
check_empty "expiry: shutdown left nothing" left

# Crash and restart: SIGKILL leaves everything installed; the next start flushes exactly what
# carries our reqids (a foreign SA with reqid 7 survives).
L_ARGS=(--local-ts 10.1.0.0/24 --remote-ts 10.2.0.0/24 --firewall)
R_ARGS=(--local-ts 10.2.0.0/24 --remote-ts 10.1.0.0/24)
check "crash: installed" start_pair crash
ikm_log "crash: SIGKILL to the left driver (bash reports it as Killed)"
kill -KILL "$PID_L"
ikm_stop_pid "$PID_L" 1
stop_pair 2>/dev/null || true
check "crash: SAs left behind after SIGKILL" bash -c "[[ -n \$(ip -n $(ns left) xfrm state) ]]"
nsx left ip xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi 0x7777 reqid 7 \
  mode tunnel enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff \
  auth-trunc 'hmac(sha256)' 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128
check "crash: restart flushes the stale state" bash -c "ip netns exec $(ns left) $DRIVER --flush-only >$IKM_RUN_DIR/flush.log 2>&1"
check_eq "crash: only the foreign SA remains" \
  "$(nsx left ip xfrm state | grep -c '^src')" 1
check "crash: foreign SA untouched" bash -c "ip -n $(ns left) xfrm state | grep -q 'reqid 7 '"
check_eq "crash: no policies left" "$(nsx left ip xfrm policy)" ""
check_eq "crash: no routes left in table 220" "$(nsx left ip route show table 220)" ""
check "crash: stale nftables table removed" bash -c "! ip netns exec $(ns left) nft list table inet ikeme 2>/dev/null"

check_summary
