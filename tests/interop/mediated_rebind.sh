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
# usage: tests/interop/mediated_rebind.sh [IKEME_PEER IKEMECTL IKEME_MEDIATOR]
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
PEER_BIN=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_BIN=${2:-$ROOT/build/release/peer/ctl/ikemectl}
MEDIATOR_BIN=${3:-$ROOT/build/release/mediator/ikeme-mediator}
# srflx_refresh 2 s: the rebinding is noticed within 2 s plus a round trip; the new attempt
# (ME_CONNECT, checks, IKE_SA_INIT/IKE_AUTH) takes well under a second here.
REFRESH=2s
RECOVERY_BOUND_MS=6000

pre_fail() {
  echo "FAIL: $1"
  echo "RESULT: FAIL (precondition: $1)"
  exit 1
}
[[ $EUID -eq 0 ]] || pre_fail "must run as root (network namespaces, port 500); not skipping"
for tool in ip nft /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || pre_fail "$tool not found (scripts/install-deps.sh)"
done
[[ -x "$PEER_BIN" && -x "$CTL_BIN" && -x "$MEDIATOR_BIN" ]] ||
  pre_fail "build ikeme-peer, ikemectl and ikeme-mediator first"

MED_IKEME_MEDSRV_YAML="    srflx_refresh: $REFRESH"
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

nat_topo
med_mediator_start ikeme
med_peer_conf ikeme alice yes
med_peer_conf ikeme bob no
med_peer_start ikeme bob
check "bob registers" ikm_wait_until 10 med_registered "$MED_BOB_ID"
med_peer_start ikeme alice
check "alice's direct IKE SA and CHILD_SA with bob" ikm_wait_until 20 med_tunnel_up alice
check "bob's direct IKE SA and CHILD_SA with alice" ikm_wait_until 5 med_tunnel_up bob
check "ping alice -> bob before the rebinding" netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 2
check "ping bob -> alice before the rebinding" netns_ping bob "$NAT_BOB_INNER" "$NAT_ALICE_INNER" 2

# rebind ROUTER HOST OTHER: HOST sits behind ROUTER; its NAT forgets every mapping.
rebind() {
  local router=$1 host=$2 other=$3 before old_host old_other t0 t_noticed t_back after
  before=$(srflx_of "$host")
  old_host=$(peer_sa_id "$host")
  old_other=$(peer_sa_id "$other")
  check_nonempty "$host's list-sas shows its server-reflexive endpoint" "$before"
  check_nonempty "$host has one direct SA" "$old_host"
  check_nonempty "$other has one direct SA" "$old_other"
  t0=$(ikm_now_ms)
  nat_rebind "$router"
  ikm_log "nat_rebind $router (was $before)"
  if check "$host logs that its NAT mapping changed" ikm_wait_until 10 logged "$host" \
    "NAT mapping changed: server-reflexive endpoint $before -> "; then
    t_noticed=$(($(ikm_now_ms) - t0))
  else
    t_noticed=-1
  fi
  after=$(srflx_of "$host")
  check_ne "$host's list-sas shows a new server-reflexive endpoint" "$before" "$after"
  check_eq "the mediator lists $host at its new endpoint" "$after" \
    "$(listed_endpoint "$(med__pseudonym "$host")")"
  check "$host's new direct SA replaces #$old_host" ikm_wait_until 10 replaced "$host" "$old_host"
  check "$other's new direct SA replaces #$old_other" ikm_wait_until 5 replaced "$other" "$old_other"
  t_back=$(($(ikm_now_ms) - t0))
  check "the tunnel was back within $RECOVERY_BOUND_MS ms of the rebinding ($t_back ms)" \
    test "$t_back" -le "$RECOVERY_BOUND_MS"
  check "ping alice -> bob after rebinding $router" netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 2
  check "ping bob -> alice after rebinding $router" netns_ping bob "$NAT_BOB_INNER" "$NAT_ALICE_INNER" 2
  echo "MEASURED: $router rebinding: noticed after $t_noticed ms (srflx_refresh $REFRESH)," \
    "new direct SA on both peers after $t_back ms"
}

rebind moon alice bob
check "alice connected again with fresh endpoints" logged alice "connecting again with fresh endpoints"
check "alice deleted the replaced SA" logged alice "deleting the old one"
rebind sun bob alice
check "bob connected again itself" logged bob "connecting again with fresh endpoints"
check "bob deleted the replaced SA" logged bob "deleting the old one"
((IKM_CHECKS_FAILED == 0)) || med_dump_logs
med_stop_all
nat_topo_destroy
check_summary
