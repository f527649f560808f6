#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ikeme-mediator as the mediation server of two strongSwan 5.9.8 charon peers (kernel-libipsec)
# behind two NATs: the topology and peer configurations of the shared strongswan-p2p capture
# (tests/data/strongswan-p2p/: README, conf/, pki/), with ikeme-mediator in carol's place.
#
#   alice 10.1.0.10 -- moon NAT 192.0.2.1 (UDP to ports 1100-1200) --+
#                                                                     +-- carol 192.0.2.100
#   bob   10.2.0.10 -- sun  NAT 192.0.2.2 (UDP to ports 1200-1300) --+      (ikeme-mediator)
#   (moon, sun and carol share one bridged segment in namespace "inet")
#
# Cases, each on fresh namespaces and daemons:
#   bob-first    bob registers, then alice starts its mediated connection: ME_CONNECT relay,
#                connectivity checks, direct IKE SA alice <-> bob, ping both ways
#   alice-first  alice asks for bob while bob is offline (ME_CONNECT_FAILED, the callback is
#                remembered); bob registers, the mediator calls alice back, then as above
# Checks also the mediator's view: list-peers with the NATs' addresses, stats counters.
#
# usage: tests/interop/mediator_charon_p2p.sh [IKEME_MEDIATOR [IKEMECTL]]
#   Needs root (namespaces, port 500); without root it fails, it does not skip.
#   IKM_KEEP_RUN_DIR=1 keeps the logs; P2P_HOLD=SECONDS waits that long before tearing each
#   case down (to look into the namespaces, e.g. the NATs' conntrack tables).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MEDIATOR_BIN=${1:-$ROOT/build/release/mediator/ikeme-mediator}
CTL_BIN=${2:-$ROOT/build/release/peer/ctl/ikemectl}
DATA="$ROOT/tests/data/strongswan-p2p"

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, port 500" ip nft swanctl unshare /usr/bin/python3 /usr/lib/ipsec/charon
[[ -x "$MEDIATOR_BIN" && -x "$CTL_BIN" ]] || pre_fail "build ikeme-mediator and ikemectl first"

# shellcheck source=lib/charon.sh
source "$HERE/lib/charon.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

mkdir -p "$IKM_RUN_DIR/bin"
cp "$MEDIATOR_BIN" "$IKM_RUN_DIR/bin/ikeme-mediator"
cp "$CTL_BIN" "$IKM_RUN_DIR/bin/ikemectl"
MEDIATOR="$IKM_RUN_DIR/bin/ikeme-mediator"
CTL="$IKM_RUN_DIR/bin/ikemectl"

ALICE_ID=6cu1UTVw@medsrv.org
BOB_ID=av9oEPMz@medsrv.org

# The capture's double-NAT topology.
topo_p2p() {
  local n
  for n in alice moon bob sun carol inet; do netns_create "$n"; done
  nsx inet ip link add br0 type bridge
  nsx inet ip link set br0 up
  for n in moon:192.0.2.1 sun:192.0.2.2 carol:192.0.2.100; do
    ip -n "$(ns inet)" link add "v${n%%:*}" type veth peer name vinet netns "$(ns "${n%%:*}")"
    ip -n "$(ns inet)" link set "v${n%%:*}" master br0 up
    ip -n "$(ns "${n%%:*}")" addr add "${n#*:}/24" dev vinet
    ip -n "$(ns "${n%%:*}")" link set vinet up
  done
  netns_link alice moon 10.1.0.10/24 10.1.0.1/24
  netns_link bob sun 10.2.0.10/24 10.2.0.1/24
  netns_route alice default 10.1.0.1
  netns_route bob default 10.2.0.1
  netns_nat moon vinet 1100-1200
  netns_nat sun vinet 1200-1300
  # The NAT routers' firewall drops unsolicited packets to themselves, as home routers do. It
  # matters for hole punching: without it, a connectivity check that reaches a Linux NAT before
  # its inside host sent its own check there becomes a conntrack entry (to the router itself),
  # the host's check then gets another external port (the mapped one is "in use"), and the pair
  # never succeeds. The drop happens before conntrack confirms the packet, so nothing remains.
  for n in moon sun; do
    nsx "$n" nft -f - <<NFT
table ip ikm_fw {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "vinet" ct state new drop
  }
}
NFT
  done
}

# charon's configuration directory for alice or bob: the capture's swanctl.conf and PKI.
charon_dir() {
  local host=$1 dir="$IKM_RUN_DIR/conf-$1"
  mkdir -p "$dir/x509" "$dir/x509ca" "$dir/private"
  cp "$DATA/conf/$host/swanctl.conf" "$dir/"
  cp "$DATA/pki/${host}Cert.pem" "$dir/x509/"
  cp "$DATA/pki/${host}Key.pem" "$dir/private/"
  cp "$DATA/pki/caCert.pem" "$dir/x509ca/"
  echo "$dir"
}

mediator_start() {
  local dir="$IKM_RUN_DIR/mediator"
  mkdir -p "$dir"
  cp "$DATA/pki/carolCert.pem" "$DATA/pki/carolKey.pem" "$dir/"
  cat >"$dir/mediator.yaml" <<YAML
daemon:
  listen: [192.0.2.100]
  control_socket: $dir/mediator.sock
  log:
    file: $dir/mediator.log
    default: 1
    ike: 2
    enc: 2
connections:
  medsrv:
    mediation: yes
    local:
      auth: pubkey
      id: carol@strongswan.org
      certs: [carolCert.pem]
    remote:
      auth: psk
    proposals: [aes128-sha256-x25519]
secrets:
  private-carol:
    file: carolKey.pem
mediator:
  directory: directory.yaml
  metrics: 127.0.0.1:9477
YAML
  cat >"$dir/directory.yaml" <<YAML
pseudonyms:
  $ALICE_ID:
    psk: 0sBAXz/6cSITttd0CzF9799p859Pi4LPnP
    may_connect: [$BOB_ID]
  $BOB_ID:
    psk: 0sZVm3FLOiweS1ywUDpR/L9FvpwNYp9svt
    may_connect: [$ALICE_ID]
YAML
  rm -f "$dir/mediator.log"
  netns_spawn carol "$dir/stdout" "$MEDIATOR" --config "$dir/mediator.yaml" --foreground
  MEDIATOR_PID=$NETNS_SPAWN_PID
  ikm_wait_until 5 mediator_ready || {
    tail -n 20 "$dir/stdout" "$dir/mediator.log" >&2 || true
    return 1
  }
}
mediator_ready() { "$CTL" --socket "$IKM_RUN_DIR/mediator/mediator.sock" stats >/dev/null 2>&1; }
mctl() { "$CTL" --socket "$IKM_RUN_DIR/mediator/mediator.sock" "$@"; }
mstat() { mctl --json stats | python3 -c "import json,sys; print(json.load(sys.stdin)['stats']['mediator']['$1'])"; }
registered() { mctl --json list-peers | grep -q "\"$1\""; }

peer_start() {
  local host=$1 dir
  dir=$(charon_dir "$host")
  charon_start "$host" "$host" "$dir"
  charon_wait_ready "$host"
  charon_load "$host"
}

# The mediated IKE SA "peer" is ESTABLISHED with an installed CHILD_SA. (charon also lists the
# placeholder SA of the same name in state CREATED that started the mediation.)
tunnel_up() {
  charon_sas_flat "$1" | grep -qx 'peer.state=ESTABLISHED' &&
    [[ -n "$(charon_child_get "$1" peer peer spi-in)" ]]
}

tunnel_checks() {
  local tag=$1
  check "$tag: alice's direct IKE SA and CHILD_SA with bob" ikm_wait_until 15 tunnel_up alice
  check "$tag: bob's CHILD_SA with alice" ikm_wait_until 5 tunnel_up bob
  check "$tag: alice reaches bob at his NAT's address" \
    bash -c "grep -qx 'peer.remote-host=192.0.2.2' <<<\"\$1\"" _ "$(charon_sas_flat alice)"
  # Three echoes, all answered; one more round if a first echo raced the CHILD_SA's
  # installation on the other side (kernel-libipsec installs after the IKE_AUTH response).
  check "$tag: ping alice -> bob through the tunnel" \
    ikm_wait_until 8 netns_ping alice 10.1.0.10 10.2.0.10 3
  check "$tag: ping bob -> alice through the tunnel" \
    ikm_wait_until 8 netns_ping bob 10.2.0.10 10.1.0.10 3
  check "$tag: the mediator relayed both halves" [ "$(mstat relayed-responses)" -ge 1 ]
  check "$tag: list-peers shows alice behind moon" \
    bash -c "'$CTL' --socket '$IKM_RUN_DIR/mediator/mediator.sock' list-peers | grep -Eq '^$ALICE_ID  192\\.0\\.2\\.1\\[(11[0-9][0-9]|1200)\\]'"
  check "$tag: list-peers shows bob behind sun" \
    bash -c "'$CTL' --socket '$IKM_RUN_DIR/mediator/mediator.sock' list-peers | grep -Eq '^$BOB_ID  192\\.0\\.2\\.2\\[(12[0-9][0-9]|1300)\\]'"
}

case_end() {
  local tag=$1
  [[ -z "${P2P_HOLD:-}" ]] || sleep "$P2P_HOLD"  # debugging: time to look into the namespaces
  if ((IKM_CHECKS_FAILED > 0)); then
    ikm_log "$tag: mediator log tail:"
    tail -n 40 "$IKM_RUN_DIR/mediator/mediator.log" >&2 || true
    charon_dump_logs alice 30 || true
    charon_dump_logs bob 30 || true
  fi
  charon_stop alice || true
  charon_stop bob || true
  ikm_stop_pid "$MEDIATOR_PID" || true
  local n
  for n in alice moon bob sun carol inet; do netns_destroy "$n"; done
}

# --- bob registers first, then alice connects
topo_p2p
mediator_start
peer_start bob
check "bob-first: bob registers" ikm_wait_until 10 registered "$BOB_ID"
peer_start alice
tunnel_checks bob-first
check_eq "bob-first: no callback needed" "$(mstat callbacks-sent)" 0
check "bob-first: metrics served" bash -c "ip netns exec '$(ns carol)' /usr/bin/python3 -c \"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9477/metrics',timeout=3).read().decode())\" | grep -q '^ikeme_mediator_relays_total 1'"
case_end bob-first

# --- alice asks first (bob offline), bob registers later: the callback path
topo_p2p
mediator_start
peer_start alice
check "alice-first: alice registers" ikm_wait_until 10 registered "$ALICE_ID"
check "alice-first: her request for offline bob was refused" \
  ikm_wait_until 10 bash -c "[ \"\$('$CTL' --socket '$IKM_RUN_DIR/mediator/mediator.sock' --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"stats\"][\"refusals\"][\"offline\"])')\" -ge 1 ]"
peer_start bob
tunnel_checks alice-first
check "alice-first: the mediator called alice back" [ "$(mstat callbacks-sent)" -ge 1 ]
case_end alice-first

check_summary
