#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The double-NAT demo (scripts/demo.sh runs it after building): two hosts, each behind its own
# NAT, register at a public ikeme-mediator, exchange endpoints through it, punch through both NATs
# and bring up a direct ESP tunnel, then ping through it. Everything runs in network namespaces
# this script creates (tests/interop/lib/nat_topo.sh) and removes again, also on failure.
#
#   alice 10.1.0.10 -- moon NAT 192.0.2.1 --+
#                                           +-- carol 192.0.2.100 (ikeme-mediator, "the internet")
#   bob   10.2.0.10 -- sun  NAT 192.0.2.2 --+
#
# usage: scripts/double_nat_demo.sh [BUILD_DIR]   (root; BUILD_DIR defaults to build/release)
# IKM_KEEP_RUN_DIR=1 keeps the daemons' configurations and logs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=${1:-$ROOT/build/release}
[[ $EUID -eq 0 ]] || {
  echo "double_nat_demo: run as root (network namespaces, port 500)" >&2
  exit 1
}
for bin in peer/ikeme-peer peer/ctl/ikemectl mediator/ikeme-mediator; do
  [[ -x "$BUILD/$bin" ]] || {
    echo "double_nat_demo: $BUILD/$bin is missing (scripts/build.sh release)" >&2
    exit 1
  }
done

# shellcheck source=../tests/interop/lib/mediated.sh
source "$ROOT/tests/interop/lib/mediated.sh"
ikeme_use_binaries "$BUILD/peer/ikeme-peer" "$BUILD/peer/ctl/ikemectl" ||
  ikm_die "ikeme binaries not usable"
cp "$BUILD/mediator/ikeme-mediator" "$IKM_RUN_DIR/bin/ikeme-mediator"
MED_MEDIATOR_BIN="$IKM_RUN_DIR/bin/ikeme-mediator"
ikm_on_cleanup med_stop_all

step() { printf '\n== %s\n' "$*"; }
show() { sed 's/^/   | /'; }
ctl() {
  local host=$1
  shift
  "$IKEMECTL" --socket "$(ikeme_sock "$host")" "$@"
}
mctl() { "$IKEMECTL" --socket "$(med_mediator_sock)" "$@"; }

step "1. The network: two private sites, each behind a NAT router, and a public segment"
nat_topo
cat <<EOF | show
alice $NAT_ALICE_INNER  behind NAT moon (public 192.0.2.1, maps UDP into ports 1100-1200)
bob   $NAT_BOB_INNER  behind NAT sun  (public 192.0.2.2, maps UDP into ports 1200-1300)
carol $NAT_CAROL_ADDR on the public segment runs the mediation server
Neither NAT lets unsolicited traffic in: alice and bob cannot reach each other directly yet.
EOF

step "2. carol starts ikeme-mediator; its pseudonym directory lists alice and bob"
med_mediator_start ikeme
"$IKEMECTL" directory --file "$IKM_RUN_DIR/mediator/directory.yaml" list | show

step "3. bob starts ikeme-peer: it registers at the mediator under a pseudonym (PSK)"
med_peer_conf ikeme alice yes
med_peer_conf ikeme bob no
med_peer_start ikeme bob
ikm_wait_until 10 med_registered "$MED_BOB_ID" || ikm_die "bob did not register"
echo "The mediator sees bob at his NAT's public address (server-reflexive endpoint):" | show
mctl list-peers | show

step "4. alice starts; her connection 'peer' (start_action: start) asks the mediator for bob"
t0=$(ikm_now_ms)
med_peer_start ikeme alice
cat <<EOF | show
alice -> mediator: ME_CONNECT with her endpoints (host and server-reflexive) and a connect key
mediator -> bob:   relays it; bob answers with his endpoints; the mediator relays the answer
alice and bob:     connectivity checks to each other's endpoints open both NATs (hole punching);
                   the first working pair is nominated and IKE_SA_INIT goes over it directly
EOF
if ! ikm_wait_until 20 med_tunnel_up alice || ! ikm_wait_until 5 med_tunnel_up bob; then
  med_dump_logs
  ikm_die "the direct tunnel did not come up"
fi
echo "direct IKE SA and CHILD_SA up on both peers $(($(ikm_now_ms) - t0)) ms after alice started" | show

step "5. alice's view of the direct tunnel (ikemectl list-sas --ike peer)"
ctl alice list-sas --ike peer | show
ctl alice explain peer | show

step "6. ping $NAT_ALICE_INNER -> $NAT_BOB_INNER through the direct ESP tunnel"
if netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 3; then
  echo "3 of 3 answered: the packets went alice -> moon NAT -> sun NAT -> bob, not via carol" | show
else
  med_dump_logs
  ikm_die "ping through the tunnel failed"
fi
ctl alice list-sas --ike peer | grep -E '^ +(in|out) ' | show || true

step "7. Cleaning up: daemons stopped, namespaces removed"
med_stop_all
nat_topo_destroy
echo "done."
