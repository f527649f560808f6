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
#   registers and the server calls alice back; needs an ikeme mediator to observe the refusal),
#   simultaneous (both registered, both initiate while carol holds back every ME_CONNECT it
#   sends, so each peer gets the other's relayed request while its own is pending; ikeme peers:
#   exactly one transaction goes on, one direct IKE SA on each side), or checks-fail (alice,
#   ikeme, gives up after ice.transaction_timeout 5 s because moon drops all UDP between the two
#   NATs' public addresses; her ME_CONNECT_FAILED reaches an ikeme bob through an ikeme mediator,
#   which stops checking at once; an ikeme mediator withholds it from a charon bob; a charon
#   mediator answers INVALID_SYNTAX. Then moon lets the traffic through and alice's retry
#   connects).
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

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_require_root "network namespaces, port 500"
for k in "$K_MED" "$K_ALICE" "$K_BOB"; do
  [[ $k == ikeme || $k == charon ]] || pre_fail "unknown kind '$k' in '$COMBO'"
done
case $ORDER in
  bob-first | alice-first | simultaneous) ;;
  checks-fail) [[ $K_ALICE == ikeme ]] || pre_fail "checks-fail needs an ikeme alice" ;;
  *) pre_fail "unknown order '$ORDER'" ;;
esac
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

# mediator_stat KEY: a counter of ikemectl stats' "mediator" object (ikeme mediator only).
mediator_stat() {
  "$IKEMECTL" --socket "$(med_mediator_sock)" --json stats |
    python3 -c "import json,sys; print(json.load(sys.stdin)['stats']['mediator']['$1'])"
}
# ikeme_direct_sas HOST: how many IKE SAs of the mediated connection "peer" HOST's ikeme lists.
ikeme_direct_sas() {
  "$IKEMECTL" --socket "$(ikeme_sock "$1")" --json list-sas |
    python3 -c "import json,sys; print(sum(1 for s in json.load(sys.stdin)['sas'] if s.get('name', s.get('connection')) == 'peer'))"
}
explain_has() { "$IKEMECTL" --socket "$(ikeme_sock "$1")" explain peer | grep -q "$2"; }
mediator_stat_at_least() { [[ "$(mediator_stat "$1")" -ge $2 ]]; }
# log_ms HOST PATTERN: the time of day in ms of the first line of HOST's ikeme log with PATTERN.
log_ms() {
  python3 - "$(ikeme_log "$1")" "$2" <<'PY'
import sys
for line in open(sys.argv[1], errors="replace"):
    if sys.argv[2] in line:
        h, m, s = line.split()[0].split(":")
        print(int(h) * 3600000 + int(m) * 60000 + round(float(s) * 1000))
        break
else:
    print(-1)
PY
}

nat_topo
med_mediator_start "$K_MED"
case $ORDER in
  simultaneous)
    med_peer_conf "$K_ALICE" alice no
    med_peer_conf "$K_BOB" bob no
    ;;
  *)
    med_peer_conf "$K_ALICE" alice yes
    med_peer_conf "$K_BOB" bob no
    ;;
esac
if [[ $ORDER == checks-fail ]]; then
  # alice gives up after 5 s (bob keeps the default 30 s: the signal, not its own timeout,
  # must stop it); moon drops every UDP datagram between the NATs' public addresses, both ways.
  printf 'ice:\n  transaction_timeout: 5s\n' >>"$(ikeme_dir alice)/peer.yaml"
  nsx moon nft -f - <<NFT
table ip ikm_cut {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip saddr $NAT_SUN_PUBLIC meta l4proto udp drop
  }
  chain post {
    type filter hook postrouting priority 300; policy accept;
    ip daddr $NAT_SUN_PUBLIC meta l4proto udp drop
  }
}
NFT
fi
t0=$(ikm_now_ms)
if [[ $ORDER == simultaneous ]]; then
  med_peer_start "$K_BOB" bob
  med_peer_start "$K_ALICE" alice
  check "$TAG: alice registers" ikm_wait_until 10 peer_registered alice
  check "$TAG: bob registers" ikm_wait_until 10 peer_registered bob
  for h in alice bob; do  # and the peers know it themselves (the server learns it first)
    if [[ ${MED_KIND[$h]} == ikeme ]]; then
      ikm_wait_until 10 bash -c "[[ \"\$('$IKEMECTL' --socket '$(ikeme_sock "$h")' explain medsrv)\" == 'medsrv is registered'* ]]" || true
    fi
  done
  # carol holds back every ME_CONNECT it sends (exchange type 240 in the IKE header after the
  # UDP header and the non-ESP marker), so both requests are pending when the relays arrive.
  nsx carol nft -f - <<'NFT'
table ip ikm_hold {
  chain out {
    type filter hook output priority 0; policy accept;
    udp sport 4500 @th,240,8 240 drop
  }
}
NFT
  pids=()
  for h in alice bob; do
    if [[ ${MED_KIND[$h]} == ikeme ]]; then
      ikeme_ctl "$h" initiate --ike peer --timeout 1 >/dev/null 2>&1 &
    else
      charon_swanctl "$h" --initiate --child peer --timeout 1 >/dev/null 2>&1 &
    fi
    pids+=($!)
  done
  wait "${pids[@]}" || true
  if [[ $K_MED == ikeme ]]; then
    check "$TAG: carol got both ME_CONNECT requests" ikm_wait_until 10 mediator_stat_at_least relays 2
  else
    sleep 1
  fi
  # Released: the retransmissions (4 s) deliver the relays while both requests are pending.
  nsx carol nft delete table ip ikm_hold
  t0=$(ikm_now_ms)
elif [[ $ORDER == bob-first || $ORDER == checks-fail ]]; then
  med_peer_start "$K_BOB" bob
  check "$TAG: bob registers" ikm_wait_until 10 peer_registered bob
  med_peer_start "$K_ALICE" alice
  if [[ $ORDER == checks-fail ]]; then
    check "$TAG: alice's checks fail (timeout 5 s)" \
      ikm_wait_until 15 explain_has alice 'connectivity checks failed'
    check "$TAG: alice's explain lists the pairs and the retry" \
      bash -c "'$IKEMECTL' --socket '$(ikeme_sock alice)' explain peer | grep -q 'next attempt in'"
    if [[ $K_MED == ikeme && $K_BOB == ikeme ]]; then
      check "$TAG: bob stops at once: the peer reported that every pair failed" \
        ikm_wait_until 3 explain_has bob 'the peer reported that every pair failed'
      check "$TAG: the mediator relayed one ME_CONNECT_FAILED" \
        ikm_wait_until 3 mediator_stat_at_least failures-relayed 1
      check "$TAG: bob's explain shows its own pairs" \
        explain_has bob 'last connectivity checks (the peer reported that every pair failed)'
      t_start=$(log_ms alice 'sending ME_CONNECT to')
      t_fail=$(log_ms alice 'telling ')
      t_bob=$(log_ms bob 'reports that every pair failed')
      ikm_log "$TAG: ME_CONNECT sent at 0 ms; alice's checks failed (signal sent) at $((t_fail - t_start)) ms; bob stopped at $((t_bob - t_start)) ms, $((t_bob - t_fail)) ms after the signal (bob's own timeout would have been 30 s)"
      check "$TAG: bob learnt it within 1 s of alice's failure" \
        bash -c "(( $t_bob >= $t_fail && $t_bob - $t_fail < 1000 ))"
    elif [[ $K_MED == ikeme ]]; then
      check "$TAG: the mediator withholds ME_CONNECT_FAILED from charon bob" \
        ikm_wait_until 3 mediator_stat_at_least failures-withheld 1
      check "$TAG: alice logs that it was not relayed" \
        ikm_wait_until 3 grep -q 'did not relay our ME_CONNECT_FAILED' "$(ikeme_log alice)"
    else
      check "$TAG: the charon mediator answers INVALID_SYNTAX, alice notes it" \
        ikm_wait_until 3 grep -q 'does not relay ME_CONNECT_FAILED' "$(ikeme_log alice)"
      # charon never refreshes the server-reflexive endpoint: after failed checks alice
      # registers again (mediation_client_rebind.cpp), then retries over the new registration.
      check "$TAG: alice registers again for a fresh server-reflexive endpoint" \
        ikm_wait_until 5 grep -q 'registering at the mediation server again' "$(ikeme_log alice)"
      check "$TAG: the charon mediator has alice's new registration" \
        ikm_wait_until 5 peer_registered alice
    fi
    # The network heals: alice's retry (2 s after the failure) connects.
    nsx moon nft delete table ip ikm_cut
  fi
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
assert m['peer-pseudonym'] == '$MED_BOB_ID', m
assert m['role'] == 'initiator' or '$ORDER' == 'simultaneous', m
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
if [[ $K_BOB == ikeme && $ORDER != simultaneous ]]; then
  check "$TAG: bob's list-sas shows the pair alice's IKE_SA_INIT came over" \
    bash -c "'$IKEMECTL' --socket '$(ikeme_sock bob)' list-sas --ike peer | grep -q 'chosen by the peer'"
fi
if [[ $ORDER == checks-fail ]]; then
  check "$TAG: alice's list-sas counts the failed attempt" \
    bash -c "'$IKEMECTL' --socket '$(ikeme_sock alice)' list-sas --ike peer | grep -q 'after 1 failed attempt(s), the last checks: timeout'"
  if [[ $K_MED == ikeme && $K_BOB == ikeme ]]; then
    check "$TAG: bob's list-sas names the peer's report" \
      bash -c "'$IKEMECTL' --socket '$(ikeme_sock bob)' list-sas --ike peer | grep -q 'the last checks: the peer reported that every pair failed'"
  fi
fi
if [[ $ORDER == simultaneous ]]; then
  for h in alice bob; do
    [[ ${MED_KIND[$h]} == ikeme ]] || continue
    check_eq "$TAG: $h has exactly one direct IKE SA" 1 "$(ikeme_direct_sas "$h")"
    # With a charon peer the overlap is not guaranteed (swanctl may initiate late).
    if [[ $K_ALICE == ikeme && $K_BOB == ikeme ]]; then
      check "$TAG: $h saw both ME_CONNECTs and decided" grep -q 'both sides sent ME_CONNECT' "$(ikeme_log "$h")"
    fi
  done
  if [[ $K_MED == ikeme && $K_ALICE == ikeme && $K_BOB == ikeme ]]; then
    check_eq "$TAG: exactly one transaction went on (relayed responses)" 1 \
      "$(mediator_stat relayed-responses)"
  fi
  # charon has no rule for this: it answers every relayed request, so the mediator may relay two
  # responses; ikeme ignores the one for its dropped attempt (docs/ike-me-protocol.md).
fi
check "$TAG: ping alice -> bob through the tunnel" netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 3
check "$TAG: ping bob -> alice through the tunnel" netns_ping bob "$NAT_BOB_INNER" "$NAT_ALICE_INNER" 3
((IKM_CHECKS_FAILED == 0)) || med_dump_logs
med_stop_all
nat_topo_destroy
check_summary
