# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034  # MED_* variables are the interface to the calling scripts
# Mediated (IKE-ME) connections in the double-NAT testbed (nat_topo.sh) with any mix of ikeme and
# strongSwan: the mediation server in carol (ikeme-mediator or charon), the peers alice and bob
# (ikeme-peer or charon). Everything uses the capture's identities, pseudonyms, PSKs and PKI
# (tests/data/strongswan-p2p): mediation connections authenticate the peers by PSK and the server
# by carol's certificate; the direct connection uses alice's and bob's certificates; CHILD_SA
# NAT_ALICE_INNER/32 === NAT_BOB_INNER/32; IKE aes128-sha256-x25519, ESP aes128gcm128-x25519.
#
#   med_mediator_start ikeme|charon       carol's daemon, ready for registrations
#   med_peer_conf ikeme|charon HOST START write HOST's configuration (START yes: the mediated
#                                         connection has start_action start; no: the host only
#                                         registers and answers)
#   med_peer_start ikeme|charon HOST      start it (charon: and load the configuration)
#   med_tunnel_up HOST                    the direct IKE SA "peer" is ESTABLISHED with its CHILD_SA
#   med_stop_all                          stops every daemon started here
# Needs IKEME_PEER/IKEMECTL (ikeme.sh: ikeme_use_binaries) and MED_MEDIATOR_BIN for ikeme-mediator.
# MED_IKEME_MEDSRV_YAML / MED_IKEME_PEER_YAML: extra lines (4-space indented keys) for an ikeme
# peer's medsrv / peer connection, e.g. "    srflx_refresh: 2s" (short timers in tests).

# shellcheck source=./nat_topo.sh
source "$(dirname "${BASH_SOURCE[0]}")/nat_topo.sh"
# shellcheck source=./ikeme.sh
source "$(dirname "${BASH_SOURCE[0]}")/ikeme.sh"
# shellcheck source=./charon.sh
source "$(dirname "${BASH_SOURCE[0]}")/charon.sh"

MED_DATA="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../data/strongswan-p2p" && pwd)"
MED_ALICE_ID=6cu1UTVw@medsrv.org
MED_BOB_ID=av9oEPMz@medsrv.org
MED_ALICE_PSK=0sBAXz/6cSITttd0CzF9799p859Pi4LPnP
MED_BOB_PSK=0sZVm3FLOiweS1ywUDpR/L9FvpwNYp9svt
MED_MEDIATOR_BIN=${MED_MEDIATOR_BIN:-}
MED_IKEME_MEDSRV_YAML=${MED_IKEME_MEDSRV_YAML:-}
MED_IKEME_PEER_YAML=${MED_IKEME_PEER_YAML:-}
MED_MEDIATOR_PID=
declare -A MED_KIND=()

med__pseudonym() { if [[ $1 == alice ]]; then echo "$MED_ALICE_ID"; else echo "$MED_BOB_ID"; fi; }
med__psk() { if [[ $1 == alice ]]; then echo "$MED_ALICE_PSK"; else echo "$MED_BOB_PSK"; fi; }
med__other() { if [[ $1 == alice ]]; then echo bob; else echo alice; fi; }
med__inner() { if [[ $1 == alice ]]; then echo "$NAT_ALICE_INNER"; else echo "$NAT_BOB_INNER"; fi; }

med_mediator_sock() { echo "$IKM_RUN_DIR/mediator/mediator.sock"; }

med_mediator_start() {
  local kind=$1 dir="$IKM_RUN_DIR/mediator"
  MED_KIND[carol]=$kind
  mkdir -p "$dir"
  if [[ $kind == charon ]]; then
    local cdir="$IKM_RUN_DIR/conf-carol"
    mkdir -p "$cdir/x509" "$cdir/x509ca" "$cdir/private"
    cp "$MED_DATA/conf/carol/swanctl.conf" "$cdir/"
    cp "$MED_DATA/pki/carolCert.pem" "$cdir/x509/"
    cp "$MED_DATA/pki/carolKey.pem" "$cdir/private/"
    cp "$MED_DATA/pki/caCert.pem" "$cdir/x509ca/"
    charon_start carol carol "$cdir"
    charon_wait_ready carol
    charon_load carol >/dev/null 2>&1
    return
  fi
  [[ -x "$MED_MEDIATOR_BIN" ]] || ikm_die "MED_MEDIATOR_BIN not set"
  cp "$MED_DATA/pki/carolCert.pem" "$MED_DATA/pki/carolKey.pem" "$dir/"
  cat >"$dir/mediator.yaml" <<YAML
daemon:
  listen: [$NAT_CAROL_ADDR]
  control_socket: $dir/mediator.sock
  log:
    file: $dir/mediator.log
    default: 1
    ike: 2
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
YAML
  cat >"$dir/directory.yaml" <<YAML
pseudonyms:
  $MED_ALICE_ID:
    psk: $MED_ALICE_PSK
    may_connect: [$MED_BOB_ID]
  $MED_BOB_ID:
    psk: $MED_BOB_PSK
    may_connect: [$MED_ALICE_ID]
YAML
  rm -f "$dir/mediator.log"
  netns_spawn carol "$dir/stdout" "$MED_MEDIATOR_BIN" --config "$dir/mediator.yaml" --foreground
  MED_MEDIATOR_PID=$NETNS_SPAWN_PID
  if ! ikm_wait_until 5 med__mediator_ready; then
    tail -n 20 "$dir/stdout" "$dir/mediator.log" >&2 || true
    return 1
  fi
}
med__mediator_ready() { "$IKEMECTL" --socket "$(med_mediator_sock)" stats >/dev/null 2>&1; }

med__charon_conf() {
  local host=$1 start=$2 other=$3 dir="$IKM_RUN_DIR/conf-$1" start_line=""
  mkdir -p "$dir/x509" "$dir/x509ca" "$dir/private"
  cp "$MED_DATA/pki/${host}Cert.pem" "$dir/x509/"
  cp "$MED_DATA/pki/${host}Key.pem" "$dir/private/"
  cp "$MED_DATA/pki/caCert.pem" "$dir/x509ca/"
  [[ $start == yes ]] && start_line="start_action = start"
  # The capture's configuration: the registration is started by a child of the mediation
  # connection (charon's way), the mediated child's start_action as asked.
  cat >"$dir/swanctl.conf" <<SWANCTL
connections {
   medsrv {
      remote_addrs = $NAT_CAROL_ADDR
      local {
         auth = psk
         id = $(med__pseudonym "$host")
      }
      remote {
         auth = pubkey
         id = carol@strongswan.org
      }
      children {
         medserv {
            start_action = start
         }
      }
      version = 2
      mobike = no
      mediation = yes
      proposals = aes128-sha256-x25519
   }
   peer {
      local {
         auth = pubkey
         certs = ${host}Cert.pem
         id = $host@strongswan.org
      }
      remote {
         auth = pubkey
         id = $other@strongswan.org
      }
      children {
         peer {
            local_ts = $(med__inner "$host")/32
            remote_ts = $(med__inner "$other")/32
            esp_proposals = aes128gcm128-x25519
            $start_line
         }
      }
      version = 2
      mobike = no
      mediated_by = medsrv
      mediation_peer = $(med__pseudonym "$other")
      proposals = aes128-sha256-x25519
   }
}
secrets {
   ike-medsrv {
      id = $(med__pseudonym "$host")
      secret = $(med__psk "$host")
   }
}
SWANCTL
}

med__ikeme_conf() {
  local host=$1 start=$2 other=$3 dir action=none
  dir=$(ikeme_dir "$host")
  mkdir -p "$dir"
  cp "$MED_DATA/pki/${host}Cert.pem" "$MED_DATA/pki/${host}Key.pem" "$MED_DATA/pki/caCert.pem" "$dir/"
  [[ $start == yes ]] && action=start
  cat >"$dir/peer.yaml" <<YAML
daemon:
  control_socket: $dir/peer.sock
  log:
    file: $dir/peer.log
    default: 1
    ike: 2
    med: 2
    ice: 2
    cfg: 2
cacerts: [caCert.pem]
connections:
  medsrv:
    remote_addrs: $NAT_CAROL_ADDR
    local:
      auth: psk
      id: $(med__pseudonym "$host")
    remote:
      auth: pubkey
      id: carol@strongswan.org
    mediation: yes
    proposals: aes128-sha256-x25519
${MED_IKEME_MEDSRV_YAML}
  peer:
    local:
      auth: pubkey
      certs: [${host}Cert.pem]
      id: $host@strongswan.org
    remote:
      auth: pubkey
      id: $other@strongswan.org
    mediated_by: medsrv
    mediation_peer: $(med__pseudonym "$other")
    proposals: aes128-sha256-x25519
${MED_IKEME_PEER_YAML}
    children:
      peer:
        local_ts: $(med__inner "$host")/32
        remote_ts: $(med__inner "$other")/32
        esp_proposals: aes128gcm128-x25519
        start_action: $action
secrets:
  ike-medsrv:
    id: $(med__pseudonym "$host")
    secret: $(med__psk "$host")
  private-$host:
    file: ${host}Key.pem
YAML
}

med_peer_conf() {
  local kind=$1 host=$2 start=$3
  MED_KIND[$host]=$kind
  if [[ $kind == charon ]]; then
    med__charon_conf "$host" "$start" "$(med__other "$host")"
  else
    med__ikeme_conf "$host" "$start" "$(med__other "$host")"
  fi
}

med_peer_start() {
  local kind=$1 host=$2
  if [[ $kind == charon ]]; then
    charon_start "$host" "$host" "$IKM_RUN_DIR/conf-$host"
    charon_wait_ready "$host"
    charon_load "$host" >/dev/null 2>&1
  else
    ikeme_start "$host" "$host"
  fi
}

med_tunnel_up() {
  local host=$1
  if [[ ${MED_KIND[$host]} == charon ]]; then
    charon_sas_flat "$host" | grep -qx 'peer.state=ESTABLISHED' &&
      [[ -n "$(charon_child_get "$host" peer peer spi-in)" ]]
  else
    ikeme__sa_up "$host" peer peer
  fi
}

# med_registered PSEUDONYM: registered at ikeme-mediator.
med_registered() {
  "$IKEMECTL" --socket "$(med_mediator_sock)" --json list-peers 2>/dev/null | grep -q "\"$1\""
}

med_dump_logs() {
  local h
  for h in alice bob; do
    case "${MED_KIND[$h]:-}" in
      ikeme) ikeme_dump_logs "$h" 60 ;;
      charon) charon_dump_logs "$h" 40 || true ;;
    esac
  done
  case "${MED_KIND[carol]:-}" in
    ikeme) tail -n 30 "$IKM_RUN_DIR/mediator/mediator.log" >&2 || true ;;
    charon) charon_dump_logs carol 30 || true ;;
  esac
}

med_stop_all() {
  local h
  for h in alice bob; do
    case "${MED_KIND[$h]:-}" in
      ikeme) ikeme_stop "$h" || true ;;
      charon) charon_stop "$h" || true ;;
    esac
    MED_KIND[$h]=
  done
  case "${MED_KIND[carol]:-}" in
    ikeme) ikm_stop_pid "$MED_MEDIATOR_PID" || true ;;
    charon) charon_stop carol || true ;;
  esac
  MED_KIND[carol]=
}
