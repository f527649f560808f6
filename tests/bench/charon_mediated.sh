#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2119
# strongSwan baseline for the mediated (IKE-ME) connection: the double-NAT testbed
# (tests/interop/lib/nat_topo.sh) with a charon mediation server (carol) and two charon peers
# (alice, bob; kernel-libipsec), configured like the capture in tests/data/strongswan-p2p:
# mediation connections with PSK (server: RSA certificate), the direct connection with RSA-3072
# certificates (a fresh test PKI made with `pki` for each invocation), IKE aes128-sha256-x25519,
# ESP aes128gcm128-x25519, CHILD_SA 10.1.0.10/32 === 10.2.0.10/32.
#
# Each run builds fresh namespaces, starts carol and loads her configuration, starts alice's and
# bob's charons, and then loads both peers' configurations at once (bob first, as in the capture):
# bob registers at carol (start_action on his mediation connection), alice's start_action
# initiates the mediated connection (registration, ME_CONNECT, checks, direct IKE_SA).
#   time     from that load ("both peers started") to the later of the two peers' log lines
#            "CHILD_SA peer{N} established" (charon's millisecond log timestamps, same clock)
#   packets  UDP datagrams on the public segment in that interval (udp_sniff.py on the inet
#            bridge, each datagram once: registrations, ME_CONNECT, checks, direct IKE)
# Also printed per run: when the first check left, and how long charon waited between its first
# valid pair and the direct IKE_SA_INIT (its fixed 1 s, ME_WAIT_TO_FINISH).
# At the end a ping through the direct tunnel proves it carries traffic.
#
# usage: tests/bench/charon_mediated.sh [--runs 3] [--timeout 15] [--topo "NAT_TOPO_OPTIONS"]
# --topo passes options to nat_topo (e.g. "same-nat", "full-cone=sun", "symmetric=moon"); the
# default is the capture's topology.
# Needs root. Prints numbers; exits non-zero only if a run did not bring the tunnel up.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/../interop/lib"
# shellcheck source=../interop/lib/nat_topo.sh
source "$LIB/nat_topo.sh"
# shellcheck source=../interop/lib/charon.sh
source "$LIB/charon.sh"

RUNS=3
TIMEOUT=15
TOPO=""
while (($#)); do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --topo) TOPO=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) ikm_die "unknown argument $1" ;;
  esac
done

# ---- test PKI (RSA 3072 like the capture's), made once per invocation
PKI="$IKM_RUN_DIR/pki"
make_pki() {
  mkdir -p "$PKI"
  # `pki` loads every plugin; the tpm plugin complains on hosts without a TPM.
  pki --gen --type rsa --size 3072 --outform pem >"$PKI/caKey.pem" 2>/dev/null
  pki --self --ca --lifetime 30 --in "$PKI/caKey.pem" --dn "C=CH, O=ikeme bench, CN=bench CA" \
    --outform pem >"$PKI/caCert.pem" 2>/dev/null
  local who
  for who in alice bob carol; do
    pki --gen --type rsa --size 3072 --outform pem >"$PKI/${who}Key.pem" 2>/dev/null
    pki --pub --in "$PKI/${who}Key.pem" 2>/dev/null |
      pki --issue --lifetime 30 --cacert "$PKI/caCert.pem" --cakey "$PKI/caKey.pem" \
        --dn "C=CH, O=ikeme bench, CN=$who@strongswan.org" --san "$who@strongswan.org" \
        --outform pem >"$PKI/${who}Cert.pem" 2>/dev/null
  done
}

# conf_dir HOST: CONF_DIR with swanctl.conf and the host's credentials.
conf_dir() {
  local who=$1 dir="$IKM_RUN_DIR/conf-$1"
  mkdir -p "$dir/x509" "$dir/x509ca" "$dir/private"
  cp "$PKI/caCert.pem" "$dir/x509ca/"
  cp "$PKI/${who}Cert.pem" "$dir/x509/"
  cp "$PKI/${who}Key.pem" "$dir/private/"
  echo "$dir"
}

ALICE_PSK=0sBAXz/6cSITttd0CzF9799p859Pi4LPnP
BOB_PSK=0sZVm3FLOiweS1ywUDpR/L9FvpwNYp9svt

write_confs() {
  local dir
  dir=$(conf_dir carol)
  cat >"$dir/swanctl.conf" <<EOF
connections {
   medsrv {
      local_addrs = $NAT_CAROL_ADDR
      local {
         auth = pubkey
         certs = carolCert.pem
         id = carol@strongswan.org
      }
      remote {
         auth = psk
      }
      version = 2
      mobike = no
      mediation = yes
      proposals = aes128-sha256-x25519
   }
}
secrets {
   ike-alice {
      id = 6cu1UTVw@medsrv.org
      secret = $ALICE_PSK
   }
   ike-bob {
      id = av9oEPMz@medsrv.org
      secret = $BOB_PSK
   }
}
EOF
  # peer_conf ME OTHER MY_PSEUDONYM OTHER_PSEUDONYM PSK REMOTE_TS MEDSRV_CHILD PEER_START LOCAL_TS
  peer_conf() {
    local d
    d=$(conf_dir "$1")
    cat >"$d/swanctl.conf" <<EOF
connections {
   medsrv {
      remote_addrs = $NAT_CAROL_ADDR
      local {
         auth = psk
         id = $3
      }
      remote {
         auth = pubkey
         id = carol@strongswan.org
      }
      $7
      version = 2
      mobike = no
      mediation = yes
      proposals = aes128-sha256-x25519
   }
   peer {
      local {
         auth = pubkey
         certs = ${1}Cert.pem
         id = $1@strongswan.org
      }
      remote {
         auth = pubkey
         id = $2@strongswan.org
      }
      children {
         peer {
            local_ts = $9
            remote_ts = $6
            esp_proposals = aes128gcm128-x25519
            $8
         }
      }
      version = 2
      mobike = no
      mediated_by = medsrv
      mediation_peer = $4
      proposals = aes128-sha256-x25519
   }
}
secrets {
   ike-medsrv {
      id = $3
      secret = $5
   }
}
EOF
  }
  # As in the capture: bob registers on his own (a start_action child on the mediation
  # connection), alice's mediated child starts at load and pulls in her registration.
  peer_conf alice bob 6cu1UTVw@medsrv.org av9oEPMz@medsrv.org "$ALICE_PSK" "$NAT_BOB_INNER/32" \
    "" "start_action = start" "$NAT_ALICE_INNER/32"
  peer_conf bob alice av9oEPMz@medsrv.org 6cu1UTVw@medsrv.org "$BOB_PSK" "$NAT_ALICE_INNER/32" \
    "children { medserv { start_action = start } }" "" "$NAT_BOB_INNER/32"
}

# log_ms NAME PATTERN [first|last]: charon log timestamp (ms since the epoch) of a line.
log_ms() {
  local sel=${3:-first}
  grep -E "$2" "$(charon_log "$1")" | awk -v sel="$sel" '
    { t = $1 } sel == "first" && !done { printf "%.0f\n", t * 1000; done = 1 }
    END { if (sel == "last" && NR) printf "%.0f\n", t * 1000 }'
}

child_up() { [[ -n "$(log_ms "$1" 'CHILD_SA peer\{[0-9]+\} established')" ]]; }
both_up() { child_up alice && child_up bob; }

TIMES=()
PACKETS=()
run() {
  local i=$1 t0 t_alice t_bob t_end first_check valid init_sa n
  # shellcheck disable=SC2086  # TOPO is a list of options
  nat_topo $TOPO # default: the capture's topology, port-restricted NATs with its port ranges
  write_confs
  CHARON_LOG_DEFAULT=1 CHARON_LOG_IKE=2 charon_start carol carol "$IKM_RUN_DIR/conf-carol"
  charon_wait_ready carol
  charon_load carol >/dev/null 2>&1
  charon_start alice alice "$IKM_RUN_DIR/conf-alice"
  charon_start bob bob "$IKM_RUN_DIR/conf-bob"
  charon_wait_ready alice
  charon_wait_ready bob
  nat_sniff_start "$IKM_RUN_DIR/public-$i.txt"
  t0=$(ikm_now_ms)
  charon_load bob >/dev/null 2>&1 &
  local bob_load=$!
  charon_load alice >/dev/null 2>&1
  wait "$bob_load"
  if ! ikm_wait_until "$TIMEOUT" both_up; then
    charon_dump_logs alice
    charon_dump_logs bob
    charon_dump_logs carol
    ikm_die "run $i: no direct CHILD_SA on both peers within ${TIMEOUT}s"
  fi
  t_alice=$(log_ms alice 'CHILD_SA peer\{[0-9]+\} established')
  t_bob=$(log_ms bob 'CHILD_SA peer\{[0-9]+\} established')
  t_end=$((t_alice > t_bob ? t_alice : t_bob))
  sleep 0.2 # the sniffer writes each line at once; give the last ones a moment
  n=$(awk -v end="$t_end" '$1 * 1000 <= end + 0.5' "$IKM_RUN_DIR/public-$i.txt" | wc -l)
  first_check=$(log_ms alice 'generating INFORMATIONAL request [0-9]+ \[ N\(ME_CID\) N\(ME_EP\) N\(ME_CAUTH\) \]')
  valid=$(log_ms alice "endpoint pair '[0-9]+' is valid")
  init_sa=$(log_ms alice '<peer\|[0-9]+> +generating IKE_SA_INIT request')
  TIMES+=($((t_end - t0)))
  PACKETS+=("$n")
  printf 'run %d: direct CHILD_SA on both after %d ms, %d UDP datagrams on the public segment' \
    "$i" $((t_end - t0)) "$n"
  printf ' (first check at %d ms, first valid pair at %d ms, direct IKE_SA_INIT at %d ms)\n' \
    $((first_check - t0)) $((valid - t0)) $((init_sa - t0))
  if ((i == RUNS)); then
    # The tunnel carries traffic (kernel-libipsec routes the /32s through its TUN device).
    if netns_ping alice "$NAT_ALICE_INNER" "$NAT_BOB_INNER" 3; then
      echo "ping $NAT_ALICE_INNER -> $NAT_BOB_INNER through the direct tunnel: ok"
    else
      ikm_die "ping through the direct tunnel failed"
    fi
  fi
  charon_stop alice
  charon_stop bob
  charon_stop carol
  ikm_stop_pid "$NAT_SNIFF_PID" 5
  nat_topo_destroy
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

make_pki
for ((r = 1; r <= RUNS; r++)); do
  run "$r"
done
echo "strongSwan (charon 5.9.8, kernel-libipsec) mediated connection, topology '${TOPO:-double NAT}', $RUNS runs:"
echo "  median $(median "${TIMES[@]}") ms until the direct CHILD_SA is installed on both peers" \
  "(runs: ${TIMES[*]})"
echo "  median $(median "${PACKETS[@]}") UDP datagrams on the public segment until then" \
  "(runs: ${PACKETS[*]})"
