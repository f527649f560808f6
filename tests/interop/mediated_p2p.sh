#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Mediated connections (IKE-ME) between ikeme-peer daemons and/or strongSwan 5.9.8 charons in the
# double-NAT testbed (tests/interop/lib/nat_topo.sh; helpers in lib/mediated.sh):
#
#   alice 10.1.0.10 -- moon NAT 192.0.2.1 --+
#                                           +-- carol 192.0.2.100 (mediation server)
#   bob   10.2.0.10 -- sun  NAT 192.0.2.2 --+
#
# usage: tests/interop/mediated_p2p.sh MEDIATOR:ALICE:BOB [ORDER] [IKEME_PEER IKEMECTL IKEME_MEDIATOR]
#   MEDIATOR, ALICE, BOB: ikeme or charon. ORDER: bob-first (default: bob registers, then alice's
#   start_action sends ME_CONNECT) or alice-first (bob offline: ME_CONNECT_FAILED, then bob
#   registers and the server calls alice back; needs an ikeme mediator to observe the refusal).
# Checks: registration, the direct IKE SA "peer" with its CHILD_SA on both peers (ikemectl
# list-sas --json / swanctl --list-sas), alice reaching bob at sun's public address, and for ikeme
# peers what list-sas shows of the mediation (mediator, pseudonyms, pair type, timings) and that
# `ikemectl explain peer` says it is up.
# Then ICMP both ways through the direct tunnel (ikeme-peer's default data plane here is the
# userspace backend; charon uses kernel-libipsec).
# Needs root; without root it fails, it does not skip. IKM_KEEP_RUN_DIR=1 keeps the logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
COMBO=${1:?usage: mediated_p2p.sh MEDIATOR:ALICE:BOB [ORDER] [IKEME_PEER IKEMECTL IKEME_MEDIATOR]}
ORDER=${2:-bob-first}
PEER_BIN=${3:-$ROOT/build/release/peer/ikeme-peer}
CTL_BIN=${4:-$ROOT/build/release/peer/ctl/ikemectl}
MEDIATOR_BIN=${5:-$ROOT/build/release/mediator/ikeme-mediator}
IFS=: read -r K_MED K_ALICE K_BOB <<<"$COMBO"

pre_fail() {
  echo "FAIL: $1"
  echo "RESULT: FAIL (precondition: $1)"
  exit 1
}
[[ $EUID -eq 0 ]] || pre_fail "must run as root (network namespaces, port 500); not skipping"
for k in "$K_MED" "$K_ALICE" "$K_BOB"; do
  [[ $k == ikeme || $k == charon ]] || pre_fail "unknown kind '$k' in '$COMBO'"
done
[[ $ORDER == bob-first || $ORDER == alice-first ]] || pre_fail "unknown order '$ORDER'"
for tool in ip nft /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || pre_fail "$tool not found (scripts/install-deps.sh)"
done
if [[ "$COMBO" == *charon* ]]; then
  for tool in swanctl /usr/lib/ipsec/charon; do
    command -v "$tool" >/dev/null 2>&1 || pre_fail "$tool not found (scripts/install-deps.sh)"
  done
fi
[[ -x "$PEER_BIN" && -x "$CTL_BIN" && -x "$MEDIATOR_BIN" ]] ||
  pre_fail "build ikeme-peer, ikemectl and ikeme-mediator first"

# shellcheck source=lib/mediated.sh
source "$HERE/lib/mediated.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

ikeme_use_binaries "$PEER_BIN" "$CTL_BIN" || pre_fail "ikeme binaries not usable"
cp "$MEDIATOR_BIN" "$IKM_RUN_DIR/bin/ikeme-mediator"
MED_MEDIATOR_BIN="$IKM_RUN_DIR/bin/ikeme-mediator"

TAG="$COMBO $ORDER"
peer_registered() {
  # ikeme-mediator lists its peers; a charon server shows the registration on the peer's side.
  local host=$1
  if [[ $K_MED == ikeme ]]; then
    med_registered "$(med__pseudonym "$host")"
  elif [[ ${MED_KIND[$host]} == ikeme ]]; then
    [[ "$(ikeme_ike_get "$host" medsrv state)" == ESTABLISHED ]]
  else
    charon_sas_flat "$host" | grep -qx 'medsrv.state=ESTABLISHED'
  fi
}

nat_topo
med_mediator_start "$K_MED"
med_peer_conf "$K_ALICE" alice yes
med_peer_conf "$K_BOB" bob no
t0=$(ikm_now_ms)
if [[ $ORDER == bob-first ]]; then
  med_peer_start "$K_BOB" bob
  check "$TAG: bob registers" ikm_wait_until 10 peer_registered bob
  med_peer_start "$K_ALICE" alice
else
  med_peer_start "$K_ALICE" alice
  check "$TAG: alice registers" ikm_wait_until 10 peer_registered alice
  if [[ $K_MED == ikeme ]]; then
    check "$TAG: the mediator refused alice's request for offline bob" \
      ikm_wait_until 10 bash -c "[ \"\$('$IKEMECTL' --socket '$(med_mediator_sock)' --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"stats\"][\"refusals\"][\"offline\"])')\" -ge 1 ]"
  fi
  if [[ $K_ALICE == ikeme ]]; then
    check "$TAG: explain says bob is offline" \
      bash -c "'$IKEMECTL' --socket '$(ikeme_sock alice)' explain peer | grep -q 'offline or we are not authorized'"
  fi
  med_peer_start "$K_BOB" bob
fi
check "$TAG: alice's direct IKE SA and CHILD_SA with bob" ikm_wait_until 20 med_tunnel_up alice
check "$TAG: bob's direct IKE SA and CHILD_SA with alice" ikm_wait_until 5 med_tunnel_up bob
ikm_log "$TAG: direct CHILD_SA on both after $(($(ikm_now_ms) - t0)) ms (including daemon start-up)"
if [[ $K_ALICE == ikeme ]]; then
  flat=$(ikeme_sas_flat alice)
  check "$TAG: alice reaches bob at sun's address" grep -qx 'peer.remote-host=192.0.2.2' <<<"$flat"
  check "$TAG: alice's list-sas names the mediator and the pseudonyms" \
    python3 -c "
import json, subprocess, sys
r = json.loads(subprocess.check_output(['$IKEMECTL', '--socket', '$(ikeme_sock alice)', '--json', 'list-sas', '--ike', 'peer']))
m = [s for s in r['sas'] if s.get('state') == 'ESTABLISHED'][0]['mediation']
assert m['mediated-by'] == 'medsrv' and m['own-pseudonym'] == '$MED_ALICE_ID', m
assert m['peer-pseudonym'] == '$MED_BOB_ID' and m['role'] == 'initiator', m
assert m['pair']['remote-type'] in ('srflx', 'prflx'), m
assert m['timings']['established-ms'] >= m['timings']['nominated-ms'] >= m['timings']['checks-ms'], m
print(m)"
  check "$TAG: explain says alice's peer connection is up" \
    bash -c "'$IKEMECTL' --socket '$(ikeme_sock alice)' explain peer | grep -q 'is up'"
  ikeme_ctl alice list-sas --ike peer >&2 || true
else
  check "$TAG: alice reaches bob at sun's address" grep -qx 'peer.remote-host=192.0.2.2' \
    <<<"$(charon_sas_flat alice)"
fi
if [[ $K_BOB == ikeme ]]; then
  check "$TAG: bob's list-sas shows the pair alice's IKE_SA_INIT came over" \
    bash -c "'$IKEMECTL' --socket '$(ikeme_sock bob)' list-sas --ike peer | grep -q 'chosen by the peer'"
fi
check "$TAG: ping alice -> bob through the tunnel" netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 3
check "$TAG: ping bob -> alice through the tunnel" netns_ping bob "$NAT_BOB_INNER" "$NAT_ALICE_INNER" 3
((IKM_CHECKS_FAILED == 0)) || med_dump_logs
med_stop_all
nat_topo_destroy
check_summary
