#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A NAT that changes its mapping (rebinding) during a mediated session, in the double-NAT testbed
# (tests/interop/lib/nat_topo.sh, helpers in lib/mediated.sh): ikeme-mediator in carol, ikeme-peer
# alice (initiates) and bob, both NATs port-restricted (Linux masquerading).
#
#   alice 10.1.0.10 -- moon NAT 192.0.2.1 --+
#                                           +-- carol 192.0.2.100 (ikeme-mediator)
#   bob   10.2.0.10 -- sun  NAT 192.0.2.2 --+
#
# usage: tests/interop/mediated_rebind.sh [ikeme|charon] [IKEME_PEER IKEMECTL IKEME_MEDIATOR]
#   ikeme (default): ikeme-mediator in carol. charon: strongSwan's mediator, which answers the SRFLX
#   refresh query empty; then the peers recover through DPD on the direct SA (dpd_delay 1s,
#   dpd_timeout 4s here) and a new registration, which learns the new mapping in IKE_AUTH.
# The direct tunnel comes up and carries ping. Then `nat_rebind moon`: alice's next datagrams leave
# from a new public port, which sun filters, so the direct path is dead. Checks: alice's SRFLX
# refresh (srflx_refresh: 2s here) logs "NAT mapping changed", list-sas shows the new
# server-reflexive endpoint and the mediator's list-peers the new endpoint; a new direct IKE SA
# replaces the old one on both peers (one SA each, new ids) within RECOVERY_BOUND_MS of the
# rebinding; ping works both ways again. Then the same with `nat_rebind sun`: bob notices, connects
# again itself (the roles turn) and deletes its old SA. The times measured are logged as
# "MEASURED: ...".
# Needs root; without root it fails, it does not skip. IKM_KEEP_RUN_DIR=1 keeps the logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
K_MED=ikeme
if [[ ${1:-} == ikeme || ${1:-} == charon ]]; then
  K_MED=$1
  shift
fi
PEER_BIN=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_BIN=${2:-$ROOT/build/release/peer/ctl/ikemectl}
MEDIATOR_BIN=${3:-$ROOT/build/release/mediator/ikeme-mediator}
# srflx_refresh 2 s: the rebinding is noticed within 2 s plus a round trip; the new attempt
# (ME_CONNECT, checks, IKE_SA_INIT/IKE_AUTH) takes well under a second here.
REFRESH=2s
RECOVERY_BOUND_MS=6000
# Without refresh: DPD notices after dpd_delay + dpd_timeout (5 s), then registration (1 s
# back-off) and the retry (2 s after the failure).
[[ $K_MED == charon ]] && RECOVERY_BOUND_MS=15000

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, port 500" ip nft /usr/bin/python3
[[ -x "$PEER_BIN" && -x "$CTL_BIN" && -x "$MEDIATOR_BIN" ]] ||
  pre_fail "build ikeme-peer, ikemectl and ikeme-mediator first"
if [[ $K_MED == charon ]]; then
  for tool in swanctl /usr/lib/ipsec/charon; do
    command -v "$tool" >/dev/null 2>&1 || pre_fail "$tool not found (scripts/install-deps.sh)"
  done
fi

MED_IKEME_MEDSRV_YAML="    srflx_refresh: $REFRESH"
if [[ $K_MED == charon ]]; then
  MED_IKEME_PEER_YAML=$'    dpd_delay: 1s\n    dpd_timeout: 4s'
fi
# shellcheck source=lib/mediated.sh
source "$HERE/lib/mediated.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

ikeme_use_binaries "$PEER_BIN" "$CTL_BIN" || pre_fail "ikeme binaries not usable"
cp "$MEDIATOR_BIN" "$IKM_RUN_DIR/bin/ikeme-mediator"
MED_MEDIATOR_BIN="$IKM_RUN_DIR/bin/ikeme-mediator"

# sa_field HOST EXPR: evaluates EXPR over `sas` (the daemon's list-sas --json "sas" list).
sa_field() {
  ikeme_ctl "$1" --json list-sas 2>/dev/null | /usr/bin/python3 -c "
import json, sys
sas = json.load(sys.stdin).get('sas', [])
peer = [s for s in sas if s.get('name') == 'peer']
up = [s for s in peer if s.get('state') == 'ESTABLISHED']
med = [s for s in sas if s.get('name') == 'medsrv' and s.get('state') == 'ESTABLISHED']
print($2)"
}
srflx_of() { sa_field "$1" "med[0].get('server-reflexive', '') if med else ''"; }
peer_sa_id() { sa_field "$1" "up[0]['uniqueid'] if len(up) == 1 else ''"; }
peer_sa_count() { sa_field "$1" "len(peer)"; }
med_id() { sa_field "$1" "med[0]['uniqueid'] if med else ''"; }
listed_endpoint() {
  "$IKEMECTL" --socket "$(med_mediator_sock)" --json list-peers | /usr/bin/python3 -c "
import json, sys
print([p['endpoint'] for p in json.load(sys.stdin)['peers'] if p['pseudonym'] == '$1'][0])"
}
# replaced HOST OLD_ID: exactly one "peer" IKE SA, established, with CHILD_SA, not OLD_ID.
replaced() {
  local id
  id=$(peer_sa_id "$1")
  [[ -n $id && $id != "$2" && "$(peer_sa_count "$1")" == 1 ]] && med_tunnel_up "$1"
}
logged() { grep -qF -- "$2" "$(ikeme_log "$1")"; }
log_lines() { wc -l <"$(ikeme_log "$1")"; }
# logged_after HOST N TEXT: TEXT in HOST's log after its first N lines.
logged_after() { tail -n +"$(($2 + 1))" "$(ikeme_log "$1")" | grep -qF -- "$3"; }

# registered HOST: at ikeme-mediator (list-peers), or the peer's own registration SA (charon).
registered() {
  if [[ $K_MED == ikeme ]]; then
    med_registered "$(med__pseudonym "$1")"
  else
    [[ -n "$(med_id "$1")" ]]
  fi
}

nat_topo
med_mediator_start "$K_MED"
med_peer_conf ikeme alice yes
med_peer_conf ikeme bob no
med_peer_start ikeme bob
check "bob registers" ikm_wait_until 10 registered bob
med_peer_start ikeme alice
check "alice's direct IKE SA and CHILD_SA with bob" ikm_wait_until 20 med_tunnel_up alice
check "bob's direct IKE SA and CHILD_SA with alice" ikm_wait_until 5 med_tunnel_up bob
check "ping alice -> bob before the rebinding" netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 2
check "ping bob -> alice before the rebinding" netns_ping bob "$NAT_BOB_INNER" "$NAT_ALICE_INNER" 2
if [[ $K_MED == charon ]]; then
  # charon answers the refresh queries (empty); the registration stays as it is.
  reg=$(med_id alice)
  check "alice asks charon for its server-reflexive endpoint" ikm_wait_until 5 logged alice \
    "asking the mediation server for our server-reflexive endpoint"
  sleep 2.5
  check_eq "alice's registration at charon survives the queries" "$reg" "$(med_id alice)"
  check "charon's empty answers change nothing" bash -c "! grep -q 'NAT mapping changed' '$(ikeme_log alice)'"
fi

# rebind ROUTER HOST OTHER: HOST sits behind ROUTER; its NAT forgets every mapping.
rebind() {
  local router=$1 host=$2 other=$3 before old_host old_other t0 t_noticed t_back after seen
  before=$(srflx_of "$host")
  old_host=$(peer_sa_id "$host")
  old_other=$(peer_sa_id "$other")
  check_nonempty "$host's list-sas shows its server-reflexive endpoint" "$before"
  check_nonempty "$host has one direct SA" "$old_host"
  check_nonempty "$other has one direct SA" "$old_other"
  seen=$(log_lines "$host")
  t0=$(ikm_now_ms)
  nat_rebind "$router"
  ikm_log "nat_rebind $router (was $before)"
  if [[ $K_MED == ikeme ]]; then
    if check "$host logs that its NAT mapping changed" ikm_wait_until 10 logged_after "$host" "$seen" \
      "NAT mapping changed: server-reflexive endpoint $before -> "; then
      t_noticed=$(($(ikm_now_ms) - t0))
    else
      t_noticed=-1
    fi
    after=$(srflx_of "$host")
    check_ne "$host's list-sas shows a new server-reflexive endpoint" "$before" "$after"
    check_eq "the mediator lists $host at its new endpoint" "$after" \
      "$(listed_endpoint "$(med__pseudonym "$host")")"
  else
    if check "$host registers again (charon does not refresh)" ikm_wait_until 15 logged_after "$host" "$seen" \
      "registering at the mediation server again: it does not refresh our server-reflexive endpoint $before"; then
      t_noticed=$(($(ikm_now_ms) - t0))
    else
      t_noticed=-1
    fi
  fi
  check "$host's new direct SA replaces #$old_host" ikm_wait_until 15 replaced "$host" "$old_host"
  check "$other's new direct SA replaces #$old_other" ikm_wait_until 10 replaced "$other" "$old_other"
  if [[ $K_MED == charon ]]; then
    after=$(srflx_of "$host")
    check_ne "$host's new registration learned a new server-reflexive endpoint" "$before" "$after"
  fi
  t_back=$(($(ikm_now_ms) - t0))
  check "the tunnel was back within $RECOVERY_BOUND_MS ms of the rebinding ($t_back ms)" \
    test "$t_back" -le "$RECOVERY_BOUND_MS"
  check "ping alice -> bob after rebinding $router" netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 2
  check "ping bob -> alice after rebinding $router" netns_ping bob "$NAT_BOB_INNER" "$NAT_ALICE_INNER" 2
  echo "MEASURED: $K_MED mediator, $router rebinding: noticed after $t_noticed ms," \
    "new direct SA on both peers after $t_back ms"
}

rebind moon alice bob
if [[ $K_MED == ikeme ]]; then
  check "alice connected again with fresh endpoints" logged alice "connecting again with fresh endpoints"
  check "alice deleted the replaced SA" logged alice "deleting the old one"
fi
rebind sun bob alice
if [[ $K_MED == ikeme ]]; then
  check "bob connected again itself" logged bob "connecting again with fresh endpoints"
  check "bob deleted the replaced SA" logged bob "deleting the old one"
fi
((IKM_CHECKS_FAILED == 0)) || med_dump_logs
med_stop_all
nat_topo_destroy
check_summary
