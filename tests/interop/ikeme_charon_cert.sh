#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ikeme-peer <-> strongSwan charon (5.9.8, kernel-libipsec) with certificates: the paper's
# road-warrior scenarios, in network namespaces, ikeme on either side.
#
#   carol 192.168.0.100 ---- 192.168.0.1 moon 192.168.1.1 ---- 192.168.1.200 dave
#                                        10.1.0.1/32 on lo (inside moon's 10.1.0.0/24)
#
# Cases (PASS/FAIL lines, each case with fresh namespaces and daemons):
#   rw-rsa       carol (RSA certificate, vips 0.0.0.0, asks for 10.1.0.0/16) -> moon (RSA
#                certificate, pool 10.3.0.0/28 with DNS, grants 10.1.0.0/24): ikeme carol with
#                charon moon and charon carol with ikeme moon. Both sides list the virtual IP
#                (ikemectl list-sas --json local-vips/remote-vips, swanctl --list-sas
#                local-vips/remote-vips), the CHILD_SA selectors are 10.3.0.1/32 === 10.1.0.0/24,
#                the lease shows in ikemectl list-pools and goes offline after the SA is deleted.
#   mixed        moon with an RSA certificate, carol and dave with personal PSKs, both at once:
#                ikeme moon with two charon road warriors and charon moon with two ikeme ones.
#   ecdsa        ECDSA certificates (moon P-256, carol P-384, ECDSA P-384 CA), both ways round.
#   refused      charon carol offers a revoked, an expired and a certificate whose
#                subjectAltName does not hold its identity; ikeme moon refuses each
#                (AUTHENTICATION_FAILED) and logs why.
#   pubkeys      raw public keys (swanctl `pubkeys`, no certificates): moon RSA, carol ECDSA,
#                both ways round; no CERT payload on the wire from either side.
#   fragments    both sides send a chain of 4 RSA-4096 certificates (EE + 3 intermediates):
#                IKE_AUTH request and response are fragmented (RFC 7383), both ways round; the
#                logs show the fragments sent and reassembled on both sides.
# No ESP data plane: tunnels are checked through both daemons' SA listings.
#
# usage: tests/interop/ikeme_charon_cert.sh [IKEME_PEER [IKEMECTL [CASE_FILTER]]]
#   as ikeme_charon_psk.sh: needs root (fails without it), IKM_KEEP_RUN_DIR=1 keeps the logs
#   per case under cases/. The PKI is tests/data/pki/interop (made once by its make.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PKI="$ROOT/tests/data/pki/interop"

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, port 500" ip nft swanctl unshare /usr/bin/python3 /usr/lib/ipsec/charon
[[ -f "$PKI/carolLongCert.pem" ]] || pre_fail "test PKI missing in $PKI"

# shellcheck source=lib/charon.sh
source "$HERE/lib/charon.sh"
# shellcheck source=lib/ikeme.sh
source "$HERE/lib/ikeme.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

PEER_ARG=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_ARG=${2:-$ROOT/build/release/peer/ctl/ikemectl}
FILTER=${3:-${IKM_FILTER:-}}
PSK_CAROL="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
PSK_DAVE="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

START=$(ikm_now_ms)
echo "ikeme_charon_cert: run prefix $IKM_PREFIX, strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || echo '?')"
ikeme_use_binaries "$PEER_ARG" "$CTL_ARG" 60 ||
  pre_fail "cannot use ikeme binaries $PEER_ARG / $CTL_ARG (missing or not runnable)"

MOON=192.168.0.1 CAROL=192.168.0.100 MOON_D=192.168.1.1 DAVE=192.168.1.200

# ---------------------------------------------------------------------------------------------
# Helpers

flat_get() { awk -v p="$2=" 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' <<<"$1"; }

check_log() {
  local line
  line=$(grep -E -m1 -- "$3" "$2" 2>/dev/null || true)
  if [[ -n "$line" ]]; then
    check_pass "$1 [$(sed -E 's/^[0-9.:]+ //' <<<"$line" | cut -c1-160)]"
  else
    check_fail "$1" "no line matching /$3/ in $(basename "$(dirname "$2")")/$(basename "$2")"
  fi
}

# The topology above, with fresh namespaces.
topo_rw() {
  netns_create moon
  netns_create carol
  netns_create dave
  netns_link carol moon "$CAROL/24" "$MOON/24"
  netns_link dave moon "$DAVE/24" "$MOON_D/24"
  netns_addr moon 10.1.0.1/32 # kernel-libipsec: an owned address inside moon's local_ts
}

CASE_TAG='' CASE_FAILED_BEFORE=0 CASE_T0=0
IKEMES=() CHARONS=()
declare -A CASE_MS=()

begin_case() {
  CASE_TAG=$1
  [[ -z "$FILTER" || "$CASE_TAG" == *"$FILTER"* ]] || return 1
  echo "=== case $CASE_TAG"
  CASE_FAILED_BEFORE=$IKM_CHECKS_FAILED
  CASE_T0=$(ikm_now_ms)
  topo_rw
}

end_case() {
  local n keep
  if ((IKM_CHECKS_FAILED > CASE_FAILED_BEFORE)); then
    for n in "${IKEMES[@]}"; do ikeme_dump_logs "$n" 40; done
    for n in "${CHARONS[@]}"; do charon_dump_logs "$n" 40; done
  fi
  if [[ "${IKM_KEEP_RUN_DIR:-0}" == 1 ]]; then
    keep="$IKM_RUN_DIR/cases/$(tr -c 'a-zA-Z0-9\n-' _ <<<"$CASE_TAG")"
    mkdir -p "$keep"
    for n in "${IKEMES[@]}"; do
      cp "$(ikeme_dir "$n")/peer.yaml" "$keep/$n.peer.yaml" 2>/dev/null || true
      cp "$(ikeme_log "$n")" "$keep/$n.peer.log" 2>/dev/null || true
    done
    for n in "${CHARONS[@]}"; do
      cp "$(charon_log "$n")" "$keep/$n.charon.log" 2>/dev/null || true
      cp "${CHARON_CONF[$n]}/swanctl.conf" "$keep/$n.swanctl.conf" 2>/dev/null || true
    done
  fi
  for n in "${IKEMES[@]}"; do ikeme_stop "$n"; done
  for n in "${CHARONS[@]}"; do charon_stop "$n"; done
  IKEMES=() CHARONS=()
  for n in moon carol dave; do netns_destroy "$n"; done
  CASE_MS[$CASE_TAG]=$(($(ikm_now_ms) - CASE_T0))
  echo "    case took ${CASE_MS[$CASE_TAG]} ms"
}

# ---------------------------------------------------------------------------------------------
# ikeme configuration: ikeme_conf NAME LISTEN YAML_BODY (connections/secrets/pools, written by
# the caller) gets the daemon section and the test PKI's CAs and CRL.
ikeme_conf() {
  local name=$1 listen=$2 body=$3 dir
  dir=$(ikeme_dir "$name")
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/peer.yaml" <<EOF
# generated by tests/interop/ikeme_charon_cert.sh for '$name'
daemon:
  listen: [$listen]
  control_socket: $dir/peer.sock
  retransmit_timeout: 1s
  retransmit_base: 1.2
  retransmit_tries: 3
  log: { default: 1, ike: 2, enc: 2, net: 1, cfg: 2, chd: 2, knl: 1, file: $dir/peer.log }
cacerts: [$PKI/caCert.pem, $PKI/ecCaCert.pem, $PKI/longCaCert.pem]
crls: [$PKI/caCrl.pem]
$body
EOF
}

# ikeme_up NS NAME: starts it; a failed start is a FAIL.
ikeme_up() {
  IKEMES+=("$2")
  ikeme_start "$1" "$2" 5 || {
    check_fail "$CASE_TAG ikeme '$2' started"
    return 1
  }
}

# charon configuration: charon_conf NAME SWANCTL_BODY CERT... (files of the PKI: *Cert.pem go
# to x509/, *Key.pem to private/, *Pub.pem to pubkey/, CA certificates and the CRL are always
# loaded).
charon_conf() {
  local name=$1 body=$2 dir f
  shift 2
  dir="$IKM_RUN_DIR/conf-$name"
  rm -rf "$dir"
  mkdir -p "$dir/x509" "$dir/x509ca" "$dir/x509crl" "$dir/private" "$dir/pubkey"
  cp "$PKI/caCert.pem" "$PKI/ecCaCert.pem" "$PKI/longCaCert.pem" "$dir/x509ca/"
  cp "$PKI/caCrl.pem" "$dir/x509crl/"
  for f in "$@"; do
    case "$f" in
      *Key.pem) cp "$PKI/$f" "$dir/private/" ;;
      *Pub.pem) cp "$PKI/$f" "$dir/pubkey/" ;;
      long[123]Cert.pem) cp "$PKI/$f" "$dir/x509ca/" ;; # intermediates: sent with the EE
      *) cp "$PKI/$f" "$dir/x509/" ;;
    esac
  done
  printf '%s\n' "$body" >"$dir/swanctl.conf"
  cat >"$dir/strongswan.extra.conf" <<EOF
charon {
  retransmit_timeout = 1
  retransmit_base = 1.2
  retransmit_tries = 3
  filelog {
    main {
      enc = 1
      net = 1
      cfg = 2
      ike = 2
    }
  }
}
EOF
}

charon_up() {
  local ns=$1 name=$2
  CHARONS+=("$name")
  charon_start "$ns" "$name" "$IKM_RUN_DIR/conf-$name"
  if ! charon_wait_ready "$name" 10 || ! charon_load "$name" 2>/dev/null; then
    check_fail "$CASE_TAG charon '$name' started and loaded"
    return 1
  fi
}

# A charon connection. Keys: conn, local_addrs, remote_addrs, local_auth, local_id, local_certs,
# remote_auth, remote_id, local_ts, remote_ts, extra_conn (vips/pools lines), local_pubkeys,
# remote_pubkeys (files in pubkey/).
charon_conn() {
  local -A o=([conn]=rw [local_addrs]=%any [remote_addrs]=%any [local_auth]=pubkey [local_id]=''
    [local_certs]='' [remote_auth]=pubkey [remote_id]=%any [local_ts]=dynamic
    [remote_ts]=dynamic [extra_conn]='' [extra_child]='' [local_pubkeys]='' [remote_pubkeys]='')
  local arg
  for arg in "$@"; do o[${arg%%=*}]=${arg#*=}; done
  local certs='' rkeys=''
  [[ -n "${o[local_certs]}" ]] && certs="certs = ${o[local_certs]}"
  [[ -n "${o[local_pubkeys]}" ]] && certs="pubkeys = ${o[local_pubkeys]}"
  [[ -n "${o[remote_pubkeys]}" ]] && rkeys="pubkeys = ${o[remote_pubkeys]}"
  cat <<EOF
  ${o[conn]} {
    local_addrs = ${o[local_addrs]}
    remote_addrs = ${o[remote_addrs]}
    proposals = aes128-sha256-x25519
    mobike = no
    rekey_time = 0
    fragmentation = yes
    ${o[extra_conn]}
    local {
      auth = ${o[local_auth]}
      id = ${o[local_id]}
      $certs
    }
    remote {
      auth = ${o[remote_auth]}
      id = ${o[remote_id]}
      $rkeys
    }
    children {
      net {
        local_ts = ${o[local_ts]}
        remote_ts = ${o[remote_ts]}
        esp_proposals = aes128gcm128-x25519
        rekey_time = 0
      }
      ${o[extra_child]}
    }
  }
EOF
}

# A child asking for a network moon does not offer (TS_UNACCEPTABLE).
IKEME_BAD_CHILD='      bad:
        remote_ts: 172.16.0.0/12
        esp_proposals: aes128gcm16'
CHARON_BAD_CHILD='bad {
        remote_ts = 172.16.0.0/12
        esp_proposals = aes128gcm128-x25519
        rekey_time = 0
      }'

CHARON_POOLS='pools {
  rw_pool {
    addrs = 10.3.0.0/28
    dns = 10.1.0.53
  }
}'

IKEME_POOLS='pools:
  rw_pool:
    addrs: 10.3.0.0/28
    dns: [10.1.0.53]'

# ikeme_conn NAME key=value...: one ikeme connection (YAML, two-space indented under
# connections:). Keys as charon_conn, plus local_certs as a YAML list and extra (lines).
ikeme_conn() {
  local -A o=([conn]=rw [local_addrs]='"%any"' [remote_addrs]='"%any"' [local_auth]=pubkey
    [local_id]='' [local_certs]='' [remote_auth]=pubkey [remote_id]='"%any"' [local_ts]=dynamic
    [remote_ts]=dynamic [extra]='' [extra_child]='' [local_pubkeys]='' [remote_pubkeys]='')
  local arg
  for arg in "$@"; do o[${arg%%=*}]=${arg#*=}; done
  local certs='' rkeys=''
  [[ -n "${o[local_certs]}" ]] && certs="      certs: [${o[local_certs]}]"
  [[ -n "${o[local_pubkeys]}" ]] && certs="      pubkeys: ${o[local_pubkeys]}"
  [[ -n "${o[remote_pubkeys]}" ]] && rkeys="      pubkeys: [${o[remote_pubkeys]}]"
  cat <<EOF
  ${o[conn]}:
    local_addrs: ${o[local_addrs]}
    remote_addrs: ${o[remote_addrs]}
    proposals: aes128-sha256-x25519
${o[extra]}
    local:
      auth: ${o[local_auth]}
      id: ${o[local_id]}
$certs
    remote:
      auth: ${o[remote_auth]}
      id: ${o[remote_id]}
$rkeys
    children:
      net:
        local_ts: ${o[local_ts]}
        remote_ts: ${o[remote_ts]}
        esp_proposals: aes128gcm16
${o[extra_child]}
EOF
}

# ikeme_wait_conn NAME CONN [TIMEOUT]: IKE SA of CONN established with its CHILD_SA "net".
ikeme_wait_conn() { ikeme_wait_sa "$1" "$2" net "${3:-8}"; }
charon_wait_conn() { charon_wait_sa "$1" "$2" net "${3:-8}"; }

# check_vip_pair IKF CHF ROLE_OF_IKEME CONN_IKEME CONN_CHARON: the virtual IP in both listings
# (ikeme carol/charon moon when ROLE is carol, the reverse when it is moon) and the narrowed
# selectors 10.3.0.x/32 === 10.1.0.0/24.
check_vip_pair() {
  local ikf=$1 chf=$2 role=$3 ic=$4 cc=$5 tag=$CASE_TAG vip
  if [[ "$role" == carol ]]; then
    vip=$(flat_get "$ikf" "$ic.local-vips")
    check_eq "$tag ikeme carol got a VIP from charon's pool" 10.3.0.1 "$vip"
    check_eq "$tag charon moon lists the same VIP as remote-vips" "$vip" "$(flat_get "$chf" "$cc.remote-vips")"
    check_eq "$tag ikeme carol CHILD_SA local === remote (narrowed)" "10.3.0.1/32 === 10.1.0.0/24" \
      "$(flat_get "$ikf" "$ic.child-sas.net.local-ts") === $(flat_get "$ikf" "$ic.child-sas.net.remote-ts")"
    local cp
    cp=$(awk -v c="$cc.child-sas." 'index($0, c) == 1 && /\.local-ts=/ { print; exit }' <<<"$chf")
    check_eq "$tag charon moon CHILD_SA local-ts (granted 10.1.0.0/24)" 10.1.0.0/24 "${cp#*=}"
  else
    vip=$(flat_get "$chf" "$cc.local-vips")
    check_eq "$tag charon carol got a VIP from ikeme's pool" 10.3.0.1 "$vip"
    check_eq "$tag ikeme moon lists the same VIP as remote-vips" "$vip" "$(flat_get "$ikf" "$ic.remote-vips")"
    check_eq "$tag ikeme moon CHILD_SA local === remote (narrowed)" "10.1.0.0/24 === 10.3.0.1/32" \
      "$(flat_get "$ikf" "$ic.child-sas.net.local-ts") === $(flat_get "$ikf" "$ic.child-sas.net.remote-ts")"
    local lt
    lt=$(awk -v c="$cc.child-sas." 'index($0, c) == 1 && /\.local-ts=/ { print; exit }' <<<"$chf")
    check_eq "$tag charon carol CHILD_SA local-ts is its VIP" 10.3.0.1/32 "${lt#*=}"
  fi
}

# ---------------------------------------------------------------------------------------------
# rw-rsa: the paper's remote-access scenario

case_rw_ikeme_carol() {
  begin_case "[rw-rsa/ikeme-carol]" || return 0
  charon_conf moon "connections {
$(charon_conn local_addrs=$MOON local_id=moon.ikeme.test local_certs=moonCert.pem \
    remote_id=carol@ikeme.test local_ts=10.1.0.0/24 extra_conn='pools = rw_pool')
}
$CHARON_POOLS" moonCert.pem moonKey.pem
  ikeme_conf carol "$CAROL" "connections:
$(ikeme_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
    local_certs="$PKI/carolCert.pem" remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
    extra='    vips: [0.0.0.0]' extra_child="$IKEME_BAD_CHILD")
secrets:
  private-carol:
    file: $PKI/carolKey.pem"
  { charon_up moon moon && ikeme_up carol carol; } || { end_case; return 0; }
  ikeme_ctl carol initiate --ike home --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_conn carol home && charon_wait_conn moon rw 5; then
    check_pass "$CASE_TAG SAs up (ikeme carol -> charon moon, RSA both)"
    local ikf chf
    ikf=$(ikeme_sas_flat carol)
    chf=$(charon_sas_flat moon)
    check_vip_pair "$ikf" "$chf" carol home rw
    check_log "$CASE_TAG ikeme carol installed the VIP" "$(ikeme_log carol)" 'installing new virtual IP 10.3.0.1'
    check_log "$CASE_TAG ikeme carol received the DNS server" "$(ikeme_log carol)" 'received DNS server 10.1.0.53'
    check_log "$CASE_TAG ikeme carol sent CPRQ" "$(ikeme_log carol)" 'generating IKE_AUTH request 1 .*CPRQ\(ADDR DNS\)'
    check_log "$CASE_TAG ikeme carol verified moon's RSA certificate" "$(ikeme_log carol)" \
      "authentication of 'moon.ikeme.test' with .*(RSA|rsa).* successful"
    check_log "$CASE_TAG charon moon assigned the VIP" "$(charon_log moon)" "assigning virtual IP 10.3.0.1 to peer 'carol@ikeme.test'"
    check "$CASE_TAG ikemectl list-sas text shows the VIP" \
      grep -q "10.3.0.1\]" <<<"$(ikeme_ctl carol list-sas)"
    # The VIP is on carol's data plane (the userspace backend's TUN device), so traffic from it
    # goes through the tunnel to charon's kernel-libipsec and back.
    check_log "$CASE_TAG ikeme carol added the VIP to its data plane" "$(ikeme_log carol)" \
      'virtual IP 10.3.0.1 assigned to us, added to the userspace data plane'
    check "$CASE_TAG ping 10.3.0.1 -> 10.1.0.1 through the tunnel" \
      nsx carol /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" 10.3.0.1 10.1.0.1 3
    ikeme_ctl carol terminate --ike home --timeout 5 >/dev/null 2>&1 || true
    check_log "$CASE_TAG ikeme carol released the VIP" "$(ikeme_log carol)" 'removing virtual IP 10.3.0.1'
    check_log "$CASE_TAG ikeme carol removed the VIP from its data plane" "$(ikeme_log carol)" \
      'removed virtual IP 10.3.0.1'
    # What moon cannot grant: 172.16.0.0/12 is refused with TS_UNACCEPTABLE, the IKE SA stays.
    ikeme_ctl carol initiate --ike home --child bad --timeout 10 >/dev/null 2>&1 || true
    check_log "$CASE_TAG charon moon refused 172.16.0.0/12" "$(charon_log moon)" \
      'traffic selectors 172.16.0.0/12 === 0.0.0.0/0 unacceptable'
    check_log "$CASE_TAG ikeme carol got TS_UNACCEPTABLE" "$(ikeme_log carol)" \
      'CHILD_SA bad not created: peer answered TS_UNACCEPTABLE'
    check_eq "$CASE_TAG the IKE SA stays, without CHILD_SA" "ESTABLISHED/" \
      "$(ikeme_ike_get carol home state)/$(ikeme_child_get carol home bad state)"
  else
    check_fail "$CASE_TAG SAs up (ikeme carol -> charon moon)" "not established"
  fi
  end_case
}

case_rw_ikeme_moon() {
  begin_case "[rw-rsa/ikeme-moon]" || return 0
  charon_conf carol "connections {
$(charon_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
    local_certs=carolCert.pem remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
    extra_conn='vips = 0.0.0.0' extra_child="$CHARON_BAD_CHILD")
}" carolCert.pem carolKey.pem
  ikeme_conf moon "$MOON, $MOON_D" "$IKEME_POOLS
connections:
$(ikeme_conn local_id=moon.ikeme.test local_certs="$PKI/moonCert.pem" local_ts=10.1.0.0/24 \
    extra='    pools: rw_pool')
secrets:
  private-moon:
    file: $PKI/moonKey.pem"
  { ikeme_up moon moon && charon_up carol carol; } || { end_case; return 0; }
  charon_swanctl carol --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
  if charon_wait_conn carol home 5 && ikeme_wait_conn moon rw 5; then
    check_pass "$CASE_TAG SAs up (charon carol -> ikeme moon, RSA both)"
    local ikf chf pools
    ikf=$(ikeme_sas_flat moon)
    chf=$(charon_sas_flat carol)
    check_vip_pair "$ikf" "$chf" moon rw home
    check_log "$CASE_TAG ikeme moon assigned the VIP" "$(ikeme_log moon)" \
      "assigning virtual IP 10.3.0.1 to peer 'carol@ikeme.test'"
    check_log "$CASE_TAG ikeme moon verified carol's RSA certificate" "$(ikeme_log moon)" \
      "authentication of 'carol@ikeme.test' with .*(RSA|rsa).* successful"
    check_log "$CASE_TAG charon carol installed the VIP" "$(charon_log carol)" 'installing new virtual IP 10.3.0.1'
    check_log "$CASE_TAG charon carol got the DNS server" "$(charon_log carol)" 'processing INTERNAL_IP4_DNS attribute'
    # ikeme moon routes the leased address into its tunnel (userspace backend), charon carol's
    # kernel-libipsec sources from its VIP: a ping both ways proves the lease reached both data planes.
    check "$CASE_TAG ping 10.3.0.1 -> 10.1.0.1 through the tunnel (charon carol's VIP)" \
      nsx carol /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" 10.3.0.1 10.1.0.1 3
    check "$CASE_TAG ping 10.1.0.1 -> 10.3.0.1 through the tunnel (from ikeme moon)" \
      nsx moon /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" 10.1.0.1 10.3.0.1 3
    pools=$(ikeme_ctl moon --json list-pools)
    check_eq "$CASE_TAG ikemectl list-pools: lease online for carol" "10.3.0.1 online carol@ikeme.test" \
      "$(/usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)["pools"][0]["leases"][0]; print(l["address"], l["status"], l["identity"])' <<<"$pools")"
    charon_swanctl carol --terminate --ike home --timeout 5 >/dev/null 2>&1 || true
    ikeme_wait_no_sa moon 5 || true
    pools=$(ikeme_ctl moon list-pools)
    check "$CASE_TAG the lease went offline with the IKE SA" grep -q "10.3.0.1 offline 'carol@ikeme.test'" <<<"$pools"
    # carol comes back and gets the same address.
    charon_swanctl carol --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
    if ikeme_wait_conn moon rw 5; then
      check_eq "$CASE_TAG carol gets her address back" 10.3.0.1 "$(ikeme_ike_get moon rw remote-vips)"
    else
      check_fail "$CASE_TAG carol reconnects" "no SA"
    fi
    # What moon cannot grant: 172.16.0.0/12 is refused with TS_UNACCEPTABLE (in a new IKE SA:
    # charon would ask for it with CREATE_CHILD_SA in the existing one).
    charon_swanctl carol --terminate --ike home --timeout 5 >/dev/null 2>&1 || true
    charon_swanctl carol --initiate --child bad --ike home --timeout 10 >/dev/null 2>&1 || true
    check_log "$CASE_TAG ikeme moon refused 172.16.0.0/12" "$(ikeme_log moon)" \
      'no acceptable traffic selectors found for 0.0.0.0/0 === 172.16.0.0/12'
    check_log "$CASE_TAG charon carol got TS_UNACCEPTABLE" "$(charon_log carol)" \
      'received TS_UNACCEPTABLE notify'

  else
    check_fail "$CASE_TAG SAs up (charon carol -> ikeme moon)" "not established"
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# mixed: moon RSA certificate, carol and dave PSK

case_mixed_ikeme_moon() {
  begin_case "[mixed/ikeme-moon]" || return 0
  local who addr secret
  for who in carol dave; do
    addr=$CAROL secret=$PSK_CAROL
    [[ $who == dave ]] && addr=$DAVE secret=$PSK_DAVE
    local moon_addr=$MOON
    [[ $who == dave ]] && moon_addr=$MOON_D
    charon_conf "$who" "connections {
$(charon_conn conn=home local_addrs=$addr remote_addrs=$moon_addr local_auth=psk \
      local_id=$who@ikeme.test remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
      extra_conn='vips = 0.0.0.0')
}
secrets {
  ike-$who {
    id = $who@ikeme.test
    secret = $secret
  }
}"
  done
  ikeme_conf moon "$MOON, $MOON_D" "$IKEME_POOLS
connections:
$(ikeme_conn local_id=moon.ikeme.test local_certs="$PKI/moonCert.pem" local_ts=10.1.0.0/24 \
    remote_auth=psk extra='    pools: rw_pool')
secrets:
  private-moon:
    file: $PKI/moonKey.pem
  ike-carol:
    id: carol@ikeme.test
    secret: $PSK_CAROL
  ike-dave:
    id: dave@ikeme.test
    secret: $PSK_DAVE"
  { ikeme_up moon moon && charon_up carol carol && charon_up dave dave; } || { end_case; return 0; }
  charon_swanctl carol --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
  charon_swanctl dave --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
  if charon_wait_conn carol home 5 && charon_wait_conn dave home 5; then
    check_pass "$CASE_TAG carol and dave (charon, PSK) up with ikeme moon (RSA)"
    check_eq "$CASE_TAG ikeme moon has two IKE SAs" 2 "$(ikeme_count_sas moon ESTABLISHED)"
    check_eq "$CASE_TAG VIPs carol/dave" "10.3.0.1/10.3.0.2" \
      "$(charon_ike_get carol home local-vips)/$(charon_ike_get dave home local-vips)"
    check_log "$CASE_TAG ikeme moon checked carol's PSK" "$(ikeme_log moon)" \
      "authentication of 'carol@ikeme.test' with pre-shared key successful"
    check_log "$CASE_TAG ikeme moon checked dave's PSK" "$(ikeme_log moon)" \
      "authentication of 'dave@ikeme.test' with pre-shared key successful"
    check_log "$CASE_TAG charon carol verified moon's certificate" "$(charon_log carol)" \
      "authentication of 'moon.ikeme.test' with .*(RSA|rsa).* successful"
    check_log "$CASE_TAG ikeme moon signed with its certificate" "$(ikeme_log moon)" \
      "authentication of 'moon.ikeme.test' \(myself\) with public key"
  else
    check_fail "$CASE_TAG carol and dave up" "not established"
  fi
  end_case
}

case_mixed_charon_moon() {
  begin_case "[mixed/charon-moon]" || return 0
  charon_conf moon "connections {
$(charon_conn local_id=moon.ikeme.test local_certs=moonCert.pem remote_auth=psk \
    local_ts=10.1.0.0/24 extra_conn='pools = rw_pool')
}
secrets {
  ike-carol {
    id = carol@ikeme.test
    secret = $PSK_CAROL
  }
  ike-dave {
    id = dave@ikeme.test
    secret = $PSK_DAVE
  }
}
$CHARON_POOLS" moonCert.pem moonKey.pem
  local who addr secret moon_addr
  for who in carol dave; do
    addr=$CAROL secret=$PSK_CAROL moon_addr=$MOON
    [[ $who == dave ]] && addr=$DAVE secret=$PSK_DAVE moon_addr=$MOON_D
    ikeme_conf "$who" "$addr" "connections:
$(ikeme_conn conn=home local_addrs=$addr remote_addrs=$moon_addr local_auth=psk \
      local_id=$who@ikeme.test remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
      extra='    vips: [0.0.0.0]')
secrets:
  ike-$who:
    id: $who@ikeme.test
    secret: $secret"
  done
  { charon_up moon moon && ikeme_up carol carol && ikeme_up dave dave; } || { end_case; return 0; }
  ikeme_ctl carol initiate --ike home --timeout 10 >/dev/null 2>&1 || true
  ikeme_ctl dave initiate --ike home --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_conn carol home 5 && ikeme_wait_conn dave home 5; then
    check_pass "$CASE_TAG carol and dave (ikeme, PSK) up with charon moon (RSA)"
    check_eq "$CASE_TAG charon moon has two IKE SAs" 2 "$(charon_count_ike moon)"
    check_eq "$CASE_TAG VIPs carol/dave" "10.3.0.1/10.3.0.2" \
      "$(ikeme_ike_get carol home local-vips)/$(ikeme_ike_get dave home local-vips)"
    check_log "$CASE_TAG ikeme carol verified moon's certificate" "$(ikeme_log carol)" \
      "authentication of 'moon.ikeme.test' with .*(RSA|rsa).* successful"
    check_log "$CASE_TAG charon moon checked dave's PSK" "$(charon_log moon)" \
      "authentication of 'dave@ikeme.test' with pre-shared key successful"
  else
    check_fail "$CASE_TAG carol and dave up" "not established"
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# ecdsa

case_ecdsa() {
  local side=$1
  begin_case "[ecdsa/ikeme-$side]" || return 0
  if [[ "$side" == carol ]]; then
    charon_conf moon "connections {
$(charon_conn local_addrs=$MOON local_id=moon.ikeme.test local_certs=moonEcCert.pem \
      remote_id=carol@ikeme.test local_ts=10.1.0.0/24 extra_conn='pools = rw_pool')
}
$CHARON_POOLS" moonEcCert.pem moonEcKey.pem
    ikeme_conf carol "$CAROL" "connections:
$(ikeme_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
      local_certs="$PKI/carolEcCert.pem" remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
      extra='    vips: [0.0.0.0]')
secrets:
  private-carol:
    file: $PKI/carolEcKey.pem"
    { charon_up moon moon && ikeme_up carol carol; } || { end_case; return 0; }
    ikeme_ctl carol initiate --ike home --timeout 10 >/dev/null 2>&1 || true
    if ikeme_wait_conn carol home && charon_wait_conn moon rw 5; then
      check_pass "$CASE_TAG SAs up (ikeme carol P-384 -> charon moon P-256)"
      check_log "$CASE_TAG ikeme verified moon's ECDSA signature" "$(ikeme_log carol)" \
        "authentication of 'moon.ikeme.test' with .*(ECDSA|ecdsa).* successful"
      check_log "$CASE_TAG charon verified carol's ECDSA signature" "$(charon_log moon)" \
        "authentication of 'carol@ikeme.test' with .*(ECDSA|ecdsa).* successful"
      check_eq "$CASE_TAG VIP" 10.3.0.1 "$(ikeme_ike_get carol home local-vips)"
    else
      check_fail "$CASE_TAG SAs up" "not established"
    fi
  else
    charon_conf carol "connections {
$(charon_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
      local_certs=carolEcCert.pem remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
      extra_conn='vips = 0.0.0.0')
}" carolEcCert.pem carolEcKey.pem
    ikeme_conf moon "$MOON" "$IKEME_POOLS
connections:
$(ikeme_conn local_id=moon.ikeme.test local_certs="$PKI/moonEcCert.pem" local_ts=10.1.0.0/24 \
      extra='    pools: rw_pool')
secrets:
  private-moon:
    file: $PKI/moonEcKey.pem"
    { ikeme_up moon moon && charon_up carol carol; } || { end_case; return 0; }
    charon_swanctl carol --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
    if charon_wait_conn carol home 5 && ikeme_wait_conn moon rw 5; then
      check_pass "$CASE_TAG SAs up (charon carol P-384 -> ikeme moon P-256)"
      check_log "$CASE_TAG ikeme verified carol's ECDSA signature" "$(ikeme_log moon)" \
        "authentication of 'carol@ikeme.test' with .*(ECDSA|ecdsa).* successful"
      check_log "$CASE_TAG charon verified moon's ECDSA signature" "$(charon_log carol)" \
        "authentication of 'moon.ikeme.test' with .*(ECDSA|ecdsa).* successful"
      check_eq "$CASE_TAG VIP" 10.3.0.1 "$(charon_ike_get carol home local-vips)"
    else
      check_fail "$CASE_TAG SAs up" "not established"
    fi
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# refused: revoked, expired, subjectAltName mismatch (charon carol offers, ikeme moon refuses)

case_refused() {
  begin_case "[refused/ikeme-moon]" || return 0
  local conns='' c
  for c in Revoked Expired Mismatch; do
    conns+=$(charon_conn conn="${c,,}" local_addrs=$CAROL remote_addrs=$MOON \
      local_id=carol@ikeme.test local_certs="carol$c.pem" remote_id=moon.ikeme.test \
      remote_ts=10.1.0.0/16 extra_conn='vips = 0.0.0.0')
    conns+=$'\n'
  done
  charon_conf carol "connections {
$conns}" carolRevoked.pem carolExpired.pem carolMismatch.pem carolKey.pem
  ikeme_conf moon "$MOON" "$IKEME_POOLS
connections:
$(ikeme_conn local_id=moon.ikeme.test local_certs="$PKI/moonCert.pem" local_ts=10.1.0.0/24 \
    extra='    pools: rw_pool')
secrets:
  private-moon:
    file: $PKI/moonKey.pem"
  { ikeme_up moon moon && charon_up carol carol; } || { end_case; return 0; }
  local why regex
  for c in revoked expired mismatch; do
    charon_swanctl carol --initiate --child net --ike "$c" --timeout 5 >/dev/null 2>&1 || true
  done
  regex="IKE_AUTH refused: certificate validation of 'carol@ikeme.test' failed: .*revoked on"
  check_log "$CASE_TAG revoked: ikeme says why" "$(ikeme_log moon)" "$regex"
  regex="IKE_AUTH refused: certificate validation of 'carol@ikeme.test' failed: .*expired"
  check_log "$CASE_TAG expired: ikeme says why" "$(ikeme_log moon)" "$regex"
  regex="IKE_AUTH refused: identity mismatch: certificate \".*CN=eve.ikeme.test\" does not vouch for 'carol@ikeme.test'"
  check_log "$CASE_TAG SAN mismatch: ikeme says why" "$(ikeme_log moon)" "$regex"
  why=$(grep -c "received AUTHENTICATION_FAILED notify error" "$(charon_log carol)" || true)
  check_eq "$CASE_TAG charon carol got AUTHENTICATION_FAILED three times" 3 "$why"
  check_eq "$CASE_TAG no IKE SA on ikeme moon" 0 "$(ikeme_count_sas moon)"
  check_eq "$CASE_TAG no lease handed out" "0/0" \
    "$(ikeme_ctl moon --json list-pools | /usr/bin/python3 -c 'import json,sys; p=json.load(sys.stdin)["pools"][0]; print("%d/%d" % (p["online"], p["offline"]))')"
  end_case
}

# ---------------------------------------------------------------------------------------------
# pubkeys: raw public keys, no certificates (moon RSA, carol ECDSA P-384)

case_pubkeys() {
  local side=$1
  begin_case "[pubkeys/ikeme-$side]" || return 0
  if [[ "$side" == carol ]]; then
    charon_conf moon "connections {
$(charon_conn local_addrs=$MOON local_id=moon.ikeme.test local_pubkeys=moonPub.pem \
      remote_id=carol@ikeme.test remote_pubkeys=carolEcPub.pem local_ts=10.1.0.0/24 \
      extra_conn='pools = rw_pool')
}
$CHARON_POOLS" moonPub.pem carolEcPub.pem moonKey.pem
    ikeme_conf carol "$CAROL" "connections:
$(ikeme_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
      local_pubkeys="$PKI/carolEcPub.pem" remote_id=moon.ikeme.test \
      remote_pubkeys="$PKI/moonPub.pem" remote_ts=10.1.0.0/24 extra='    vips: [0.0.0.0]')
secrets:
  ecdsa-carol:
    file: $PKI/carolEcKey.pem"
    { charon_up moon moon && ikeme_up carol carol; } || { end_case; return 0; }
    ikeme_ctl carol initiate --ike home --timeout 10 >/dev/null 2>&1 || true
    if ikeme_wait_conn carol home && charon_wait_conn moon rw 5; then
      check_pass "$CASE_TAG SAs up (ikeme carol ECDSA key -> charon moon RSA key)"
      check_log "$CASE_TAG ikeme verified moon's raw RSA key" "$(ikeme_log carol)" \
        "authentication of 'moon.ikeme.test' with .* successful \\(raw public key RSA 2048\\)"
      check_log "$CASE_TAG charon verified carol's ECDSA signature" "$(charon_log moon)" \
        "authentication of 'carol@ikeme.test' with .*(ECDSA|ecdsa).* successful"
    else
      check_fail "$CASE_TAG SAs up" "not established"
    fi
  else
    charon_conf carol "connections {
$(charon_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
      local_pubkeys=carolEcPub.pem remote_id=moon.ikeme.test remote_pubkeys=moonPub.pem \
      remote_ts=10.1.0.0/24)
}" carolEcPub.pem moonPub.pem carolEcKey.pem
    ikeme_conf moon "$MOON" "connections:
$(ikeme_conn local_id=moon.ikeme.test local_pubkeys="$PKI/moonPub.pem" local_ts=10.1.0.0/24 \
      remote_id=carol@ikeme.test remote_pubkeys="$PKI/carolEcPub.pem")
secrets:
  rsa-moon:
    file: $PKI/moonKey.pem"
    { ikeme_up moon moon && charon_up carol carol; } || { end_case; return 0; }
    charon_swanctl carol --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
    if charon_wait_conn carol home 5 && ikeme_wait_conn moon rw 5; then
      check_pass "$CASE_TAG SAs up (charon carol ECDSA key -> ikeme moon RSA key)"
      check_log "$CASE_TAG ikeme verified carol's raw ECDSA key" "$(ikeme_log moon)" \
        "authentication of 'carol@ikeme.test' with .* successful \\(raw public key ECDSA P-384\\)"
      check_log "$CASE_TAG charon verified moon's RSA signature" "$(charon_log carol)" \
        "authentication of 'moon.ikeme.test' with .*(RSA|rsa).* successful"
    else
      check_fail "$CASE_TAG SAs up" "not established"
    fi
  fi
  # Neither side sent a certificate: no CERT in any IKE_AUTH ikeme parsed or generated.
  local n
  for n in "${IKEMES[@]}"; do
    if grep -E "IKE_AUTH .*\[.* CERT " "$(ikeme_log "$n")" >/dev/null; then
      check_fail "$CASE_TAG no CERT payload in ikeme '$n's IKE_AUTH messages"
    else
      check_pass "$CASE_TAG no CERT payload in ikeme '$n's IKE_AUTH messages"
    fi
  done
  end_case
}

# ---------------------------------------------------------------------------------------------
# fragments: a chain of 4 RSA-4096 certificates each way

case_fragments() {
  local side=$1
  begin_case "[fragments/ikeme-$side]" || return 0
  local chain_c="$PKI/carolLongCert.pem, $PKI/long3Cert.pem, $PKI/long2Cert.pem, $PKI/long1Cert.pem"
  local chain_m="$PKI/moonLongCert.pem, $PKI/long3Cert.pem, $PKI/long2Cert.pem, $PKI/long1Cert.pem"
  local ik ch ikconn chconn
  if [[ "$side" == carol ]]; then
    ik=carol ch=moon ikconn=home chconn=rw
    charon_conf moon "connections {
$(charon_conn local_addrs=$MOON local_id=moon.ikeme.test local_certs=moonLongCert.pem \
      remote_id=carol@ikeme.test local_ts=10.1.0.0/24 extra_conn='pools = rw_pool')
}
$CHARON_POOLS" moonLongCert.pem moonLongKey.pem long1Cert.pem long2Cert.pem long3Cert.pem
    ikeme_conf carol "$CAROL" "connections:
$(ikeme_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
      local_certs="$chain_c" remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
      extra='    vips: [0.0.0.0]')
secrets:
  private-carol:
    file: $PKI/carolLongKey.pem"
    { charon_up moon moon && ikeme_up carol carol; } || { end_case; return 0; }
    ikeme_ctl carol initiate --ike home --timeout 10 >/dev/null 2>&1 || true
  else
    ik=moon ch=carol ikconn=rw chconn=home
    charon_conf carol "connections {
$(charon_conn conn=home local_addrs=$CAROL remote_addrs=$MOON local_id=carol@ikeme.test \
      local_certs=carolLongCert.pem remote_id=moon.ikeme.test remote_ts=10.1.0.0/16 \
      extra_conn='vips = 0.0.0.0')
}" carolLongCert.pem carolLongKey.pem long1Cert.pem long2Cert.pem long3Cert.pem
    ikeme_conf moon "$MOON" "$IKEME_POOLS
connections:
$(ikeme_conn local_id=moon.ikeme.test local_certs="$chain_m" local_ts=10.1.0.0/24 \
      extra='    pools: rw_pool')
secrets:
  private-moon:
    file: $PKI/moonLongKey.pem"
    { ikeme_up moon moon && charon_up carol carol; } || { end_case; return 0; }
    charon_swanctl carol --initiate --child net --ike home --timeout 10 >/dev/null 2>&1 || true
  fi
  if ikeme_wait_conn "$ik" "$ikconn" 8 && charon_wait_conn "$ch" "$chconn" 5; then
    check_pass "$CASE_TAG SAs up with 4-certificate RSA-4096 chains both ways"
    local dir=request resp=response
    [[ "$side" == moon ]] && dir=response resp=request
    check_log "$CASE_TAG ikeme split its IKE_AUTH $dir into fragments" "$(ikeme_log "$ik")" \
      'splitting IKE message .* into [0-9]+ fragments'
    check_log "$CASE_TAG ikeme reassembled charon's IKE_AUTH $resp" "$(ikeme_log "$ik")" \
      'reassembled [0-9]+ fragments'
    check_log "$CASE_TAG charon split its IKE_AUTH $resp into fragments" "$(charon_log "$ch")" \
      'splitting IKE message .* into [0-9]+ fragments'
    check_log "$CASE_TAG charon reassembled ikeme's fragments" "$(charon_log "$ch")" \
      'IKE message .*reassembled|received fragment #[0-9]+ of [0-9]+, reassembled'
    check_log "$CASE_TAG ikeme verified the chain up to the long root" "$(ikeme_log "$ik")" \
      'with .*(RSA|rsa).* successful .*CA "C=CH, O=ikeme Interop, CN=ikeme Interop Long Root CA"'
  else
    check_fail "$CASE_TAG SAs up with long chains" "not established"
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------

case_rw_ikeme_carol
case_rw_ikeme_moon
case_mixed_ikeme_moon
case_mixed_charon_moon
case_ecdsa carol
case_ecdsa moon
case_refused
case_pubkeys carol
case_pubkeys moon
case_fragments carol
case_fragments moon

echo "ikeme_charon_cert: case times (ms):"
for tag in "${!CASE_MS[@]}"; do
  printf '    %6d  %s\n' "${CASE_MS[$tag]}" "$tag"
done | sort -k2
echo "ikeme_charon_cert: total $(($(ikm_now_ms) - START)) ms"
check_summary || exit 1
