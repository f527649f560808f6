#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A mediated connection survives the loss of its local address: ikeme-mediator and two
# ikeme-peers in the same-NAT testbed (alice 10.1.0.10 and bob 10.1.0.20 behind moon, which does
# not hairpin, so only HOST candidates connect them; tests/interop/lib/nat_topo.sh same-nat).
# alice also has 10.1.0.11 and 10.1.0.12, the latter excluded (ice.exclude_addresses).
#   1. The direct IKE SA comes up between 10.1.0.10 and 10.1.0.20; bob never hears of 10.1.0.12.
#   2. 10.1.0.10 is deleted (promote_secondaries keeps the others): alice logs it gone, drops the
#      SAs that used it (no DELETE can leave from it), registers again, sends a new ME_CONNECT
#      with what is left, and the direct SA comes back from 10.1.0.11; bob ends its stale SA on
#      the INITIAL_CONTACT; a ping crosses the new tunnel. Still no 10.1.0.12 at bob's or the
#      mediator's. A few seconds.
# usage: tests/interop/mediated_address_change.sh [IKEME_PEER IKEMECTL IKEME_MEDIATOR]
# Needs root; without root it fails, it does not skip. IKM_KEEP_RUN_DIR=1 keeps the logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEER_BIN=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_BIN=${2:-$ROOT/build/release/peer/ctl/ikemectl}
MEDIATOR_BIN=${3:-$ROOT/build/release/mediator/ikeme-mediator}

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, port 500" ip nft /usr/bin/python3
[[ -x "$PEER_BIN" && -x "$CTL_BIN" && -x "$MEDIATOR_BIN" ]] ||
  pre_fail "build ikeme-peer, ikemectl and ikeme-mediator first"

# shellcheck source=lib/mediated.sh
source "$HERE/lib/mediated.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

ikeme_use_binaries "$PEER_BIN" "$CTL_BIN" || pre_fail "ikeme binaries not usable"
cp "$MEDIATOR_BIN" "$IKM_RUN_DIR/bin/ikeme-mediator"
MED_MEDIATOR_BIN="$IKM_RUN_DIR/bin/ikeme-mediator"

nat_topo same-nat
IF=$(nsx alice ip -o -4 addr show | awk '$4 == "10.1.0.10/24" { print $2; exit }')
[[ -n "$IF" ]] || ikm_die "alice has no 10.1.0.10/24"
# Deleting the primary address must not take the secondaries with it.
nsx alice sysctl -qw net.ipv4.conf.all.promote_secondaries=1 "net.ipv4.conf.$IF.promote_secondaries=1"
nsx alice ip addr add 10.1.0.11/24 dev "$IF"
nsx alice ip addr add 10.1.0.12/24 dev "$IF"

med_mediator_start ikeme
med_peer_conf ikeme alice yes
med_peer_conf ikeme bob no
cat >>"$(ikeme_dir alice)/peer.yaml" <<'YAML'
ice:
  exclude_addresses: [10.1.0.12]
YAML

# The first ESTABLISHED IKE SA of connection "peer": its local address.
peer_local() {
  ikeme_ctl "$1" --json list-sas --ike peer 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for sa in json.load(sys.stdin).get("sas", []):
    if sa.get("state") == "ESTABLISHED" and sa.get("child-sas"):
        print(sa.get("local-host")); break'
}
peer_local_is() { [[ "$(peer_local "$1")" == "$2" ]]; }
logged() { grep -qF "$2" "$(ikeme_log "$1")"; }
addr_state() {
  ikeme_ctl alice --json list-addresses 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for a in json.load(sys.stdin).get("addresses", []):
    if a.get("address") == sys.argv[1]:
        print("disclosed" if a.get("disclosed") else "withheld: " + a.get("withheld", "?")); break
else:
    print("absent")' "$1"
}

t0=$(ikm_now_ms)
med_peer_start ikeme bob
check "bob registers" ikm_wait_until 10 med_registered "$MED_BOB_ID"
med_peer_start ikeme alice
check "alice's direct SA from 10.1.0.10" ikm_wait_until 20 peer_local_is alice 10.1.0.10
check "bob's direct SA" ikm_wait_until 5 med_tunnel_up bob
ikm_log "direct SA after $(($(ikm_now_ms) - t0)) ms"
check_eq "alice withholds the excluded address" "withheld: in excluded 10.1.0.12/32" \
  "$(addr_state 10.1.0.12)"
check_eq "alice discloses 10.1.0.11" disclosed "$(addr_state 10.1.0.11)"
check "bob learned 10.1.0.11 from alice's ME_CONNECT" logged bob "10.1.0.11"

t1=$(ikm_now_ms)
nsx alice ip addr del 10.1.0.10/24 dev "$IF"
nsx alice ip route replace default via 10.1.0.1
check "alice logs the address gone" ikm_wait_until 3 logged alice \
  "host address 10.1.0.10 on $IF disappeared"
check "alice registers again" ikm_wait_until 3 logged alice \
  "local address 10.1.0.10 of the mediation connection disappeared; registering again"
check "alice restarts the mediated connection" ikm_wait_until 3 logged alice \
  "local address 10.1.0.10 disappeared; sending a new ME_CONNECT"
check "alice's direct SA again, from 10.1.0.11" ikm_wait_until 20 peer_local_is alice 10.1.0.11
ikm_log "direct SA back $(($(ikm_now_ms) - t1)) ms after the address was deleted"
check "bob's direct SA with 10.1.0.11" ikm_wait_until 5 bash -c \
  "'$IKEMECTL' --socket '$(ikeme_sock bob)' --json list-sas --ike peer | grep -q '\"remote-host\":\"10.1.0.11\"'"
check "bob ended the stale SA on alice's INITIAL_CONTACT" logged bob "sent INITIAL_CONTACT"
check "ping alice -> bob through the new tunnel" ikm_wait_until 5 \
  netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 1
check "bob never heard of the excluded 10.1.0.12" bash -c "! grep -qF '10.1.0.12' '$(ikeme_log bob)'"
check "the mediator never relayed 10.1.0.12" bash -c "! grep -qF '10.1.0.12' '$IKM_RUN_DIR/mediator/mediator.log'"
((IKM_CHECKS_FAILED == 0)) || med_dump_logs
med_stop_all
nat_topo_destroy
check_summary
