#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ikeme's ICE agent through real Linux NATs: tests/interop/ice_punch (the agent on UDP sockets)
# in the double-NAT testbed (lib/nat_topo.sh), alice as the ME_CONNECT initiator, bob as the
# responder. carol runs an echo server that reports mapped addresses (a stand-in for the
# mediation server's SRFLX report); the endpoints go from one peer to the other through files
# (a stand-in for ME_CONNECT). Each variant checks the outcome and the kind of pair, and prints
# how long the checks took and how many UDP datagrams crossed the public segment for them.
#
# usage: tests/interop/ice_punch_test.sh ICE_PUNCH_BINARY
# Needs root; about 10 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/nat_topo.sh
source "$HERE/lib/nat_topo.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

PUNCH=${1:?usage: ice_punch_test.sh ICE_PUNCH_BINARY}
[[ -x "$PUNCH" ]] || ikm_die "not executable: $PUNCH"
PUNCH=$(cd "$(dirname "$PUNCH")" && pwd)/$(basename "$PUNCH")

# punch CASE EXPECT(nominated|failed) TYPE TOPO_OPTIONS...: one variant in fresh namespaces.
punch() {
  local name=$1 expect=$2 type=$3 dir alice_pid bob_pid rc_a=0 rc_b=0 echo_pid
  shift 3
  nat_topo "$@"
  dir="$IKM_RUN_DIR/$name"
  mkdir -p "$dir"
  netns_spawn carol "$dir/carol.log" /usr/bin/python3 "$IKM_LIB_DIR/udp_probe.py" 4500 20 --echo
  echo_pid=$NETNS_SPAWN_PID
  sleep 0.2
  # lo holds the inner addresses behind the same NAT: never disclosed (the exclusion list).
  netns_spawn alice "$dir/alice.out" "$PUNCH" initiator "$NAT_ALICE_ADDR" 4500 \
    "$NAT_CAROL_ADDR:4500" "$dir" alice bob lo
  alice_pid=$NETNS_SPAWN_PID
  netns_spawn bob "$dir/bob.out" "$PUNCH" responder "$NAT_BOB_ADDR" 4500 \
    "$NAT_CAROL_ADDR:4500" "$dir" bob alice lo
  bob_pid=$NETNS_SPAWN_PID
  ikm_wait_until 10 test -f "$dir/alice.endpoints" -a -f "$dir/bob.endpoints" ||
    ikm_die "$name: registration did not finish: $(cat "$dir/alice.out" "$dir/bob.out")"
  nat_public_udp_reset
  touch "$dir/go"
  wait "$alice_pid" || rc_a=$?
  wait "$bob_pid" || rc_b=$?
  ikm_stop_pid "$echo_pid" 5
  local public
  public=$(nat_public_udp_count)
  if [[ "$expect" == nominated ]]; then
    check_eq "$name: alice nominated" 0 "$rc_a"
    check_eq "$name: bob saw the IKE_SA_INIT stand-in over the pair" 0 "$rc_b"
    check_eq "$name: pair type (alice -> bob)" "$type" "$(awk '/^TYPE/ { print $2 }' "$dir/alice.out")"
    echo "  $name: $(grep '^NOMINATED' "$dir/alice.out")"
    echo "  $name: $public UDP datagrams on the public segment for the checks and the stand-in"
  else
    check_eq "$name: alice reports the failure" 1 "$rc_a"
    check_eq "$name: bob reports the failure" 1 "$rc_b"
    check "$name: every pair is listed with what happened" grep -q "no response yet" "$dir/alice.out"
    echo "  $name: $(grep '^FAILED' "$dir/alice.out")"
  fi
  if [[ "${IKM_VERBOSE:-0}" == 1 ]]; then cat "$dir/alice.out" "$dir/bob.out"; fi
  nat_topo_destroy
}

punch double-nat nominated SERVER_REFLEXIVE
punch same-nat nominated HOST same-nat
punch full-cone nominated SERVER_REFLEXIVE full-cone=sun
punch symmetric-vs-full-cone nominated SERVER_REFLEXIVE symmetric=moon full-cone=sun
punch symmetric-vs-port-restricted failed - symmetric=moon
check_summary
