#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ikeme-peer <-> strongSwan charon (5.9.8, kernel-libipsec), PSK, on real sockets in network
# namespaces. Every case gets fresh namespaces and fresh daemons; "left" always initiates (it is
# the side behind the NAT in the NAT cases), ikeme plays either side. Checks (PASS/FAIL lines):
#   proposals   x3 proposal sets, both roles, direct: both IKE SAs ESTABLISHED with the same
#               SPIs, the same negotiated IKE and ESP algorithms (ikemectl's JSON against
#               swanctl --list-sas --raw), CHILD_SAs with crossed SPIs and the same selectors
#   nat         both roles through a masquerading NAT: NAT detected on the right side, port
#               4500 on both sides, the NAT's address seen by the responder
#   cookie      charon demands COOKIEs (cookie_threshold 1 after a half-open SA): ikeme restarts
#               IKE_SA_INIT with the COOKIE and the SA comes up
#   invalid-ke  charon proposes x25519 first, ikeme only ecp256: ikeme answers
#               INVALID_KE_PAYLOAD, charon retries, the SA comes up with ECP_256
#   delete      ikemectl terminate and swanctl --terminate, each with ikeme as initiator and as
#               responder: the SA disappears on both sides
#   dpd         ikeme with dpd_delay (checks answered by charon; charon SIGKILLed: ikeme
#               declares it dead) and charon with dpd_delay (answered by ikeme; ikeme-peer
#               SIGKILLed: charon declares it dead)
#   sigterm     SIGTERM to ikeme-peer (both roles): it sends DELETE, charon's SA disappears,
#               ikeme-peer exits 0
# and, beyond those: COOKIEs demanded by ikeme (also combined with INVALID_KE_PAYLOAD), ikeme
# as initiator answered with INVALID_KE_PAYLOAD, charon deleting only the CHILD_SA, rekeying
# the CHILD_SA with CREATE_CHILD_SA started by charon (swanctl --rekey) and by ikeme (ikemectl
# rekey), also with PFS, charon rekeying the IKE SA (ikeme answers NO_ADDITIONAL_SAS, charon
# reauthenticates), and INITIAL_CONTACT after either initiator lost its state (SIGKILL and
# restart).
# ikeme runs with esp_backend auto (the userspace data plane on this ESP-less kernel); traffic
# through the tunnels is tested by tests/interop/userspace_esp.sh.
# charon's timed rekeying is off (the rekey cases start it by hand); both sides use short
# retransmission settings (1 s, base 1.2, 3 tries).
#
# usage: tests/interop/ikeme_charon_psk.sh [IKEME_PEER [IKEMECTL [CASE_FILTER]]]
#   defaults: build/release/peer/ikeme-peer build/release/peer/ctl/ikemectl; CASE_FILTER
#   (also IKM_FILTER) runs only cases whose tag contains it, e.g. "[dpd". Needs root: without
#   root it fails (exit 1), it does not skip. Exit 0 only if every check passed.
#   IKM_KEEP_RUN_DIR=1 keeps the logs, per case under cases/ (peer.log, charon.log, configs);
#   CHARON_LOG_ENC=2 (or CHARON_LOG_DEFAULT=2) makes charon's log more detailed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# Preconditions, checked before the harness is sourced so that they fail with a clear line.
# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, port 500" ip nft swanctl unshare /usr/bin/python3 /usr/lib/ipsec/charon

# shellcheck source=lib/charon.sh
source "$HERE/lib/charon.sh"
# shellcheck source=lib/ikeme.sh
source "$HERE/lib/ikeme.sh"
# shellcheck source=lib/topo.sh
source "$HERE/lib/topo.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

PEER_ARG=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_ARG=${2:-$ROOT/build/release/peer/ctl/ikemectl}
FILTER=${3:-${IKM_FILTER:-}}
PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"   # fresh per run; test material only

START=$(ikm_now_ms)
echo "ikeme_charon_psk: run prefix $IKM_PREFIX, strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || echo '?')"
if ! ikeme_use_binaries "$PEER_ARG" "$CTL_ARG" 60; then
  pre_fail "cannot use ikeme binaries $PEER_ARG / $CTL_ARG (missing or not runnable)"
fi
echo "ikeme_charon_psk: $("$IKEME_PEER" --version) from $PEER_ARG"

# name | IKE proposal | ESP proposal | expected IKE encr/keysize/integ/prf/dh | expected ESP
# encr/keysize/integ/esn ("-" = attribute absent)
PROPOSALS=(
  "aes128-sha256-x25519|aes128-sha256-x25519|aes128gcm16|AES_CBC/128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519|AES_GCM_16/128/-/NO_ESN"
  "aes256gcm16-prfsha384-ecp384|aes256gcm16-prfsha384-ecp384|aes256gcm16|AES_GCM_16/256/-/PRF_HMAC_SHA2_384/ECP_384|AES_GCM_16/256/-/NO_ESN"
  "aes256-sha512-modp3072|aes256-sha512-modp3072|aes256-sha512|AES_CBC/256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_3072|AES_CBC/256/HMAC_SHA2_512_256/NO_ESN"
)

# ---------------------------------------------------------------------------------------------
# Small helpers

or_dash() { echo "${1:--}"; }

# flat_get FLAT KEY: value of "KEY=" in a flattened listing held in a variable.
flat_get() { awk -v p="$2=" 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' <<<"$1"; }

# ikeme_algs STRING KIND: ikeme's "AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519"
# as "encr/keysize/integ/prf/dh" (KIND ike) or "encr/keysize/integ/esn" (KIND esp).
ikeme_algs() {
  local t encr=- ks=- integ=- prf=- dh=- esn=- IFS=/
  for t in $1; do
    case "$t" in
      PRF_*) prf=$t ;;
      HMAC_* | AES_XCBC* | AES_CMAC*) integ=$t ;;
      CURVE_* | ECP_* | MODP_*) dh=$t ;;
      NO_ESN | ESN) esn=$t ;;
      *)
        if [[ "$t" =~ ^(.*)_([0-9]+)$ ]]; then
          encr=${BASH_REMATCH[1]} ks=${BASH_REMATCH[2]}
        else
          encr=$t
        fi
        ;;
    esac
  done
  if [[ "$2" == ike ]]; then echo "$encr/$ks/$integ/$prf/$dh"; else echo "$encr/$ks/$integ/$esn"; fi
}

# charon_algs FLAT PREFIX KIND: the same shape from charon's flattened keys under PREFIX.
charon_algs() {
  local f=$1 p=$2
  if [[ "$3" == ike ]]; then
    echo "$(or_dash "$(flat_get "$f" "$p.encr-alg")")/$(or_dash "$(flat_get "$f" "$p.encr-keysize")")/$(or_dash "$(flat_get "$f" "$p.integ-alg")")/$(or_dash "$(flat_get "$f" "$p.prf-alg")")/$(or_dash "$(flat_get "$f" "$p.dh-group")")"
  else
    local esn=NO_ESN
    [[ "$(flat_get "$f" "$p.esn")" == 1 ]] && esn=ESN
    echo "$(or_dash "$(flat_get "$f" "$p.encr-alg")")/$(or_dash "$(flat_get "$f" "$p.encr-keysize")")/$(or_dash "$(flat_get "$f" "$p.integ-alg")")/$esn"
  fi
}

# charon_child_prefix FLAT CONN CHILD: "CONN.child-sas.<section>" of the INSTALLED child CHILD.
charon_child_prefix() {
  awk -v c="$2.child-sas." -v child="$3" '
    index($0, c) == 1 {
      rest = substr($0, length(c) + 1); dot = index(rest, "."); sec = substr(rest, 1, dot - 1)
      kv = substr(rest, dot + 1); eq = index(kv, "="); k = substr(kv, 1, eq - 1); v = substr(kv, eq + 1)
      if (!(sec in seen)) { seen[sec] = 1; order[++n] = sec }
      val[sec, k] = v
    }
    END { for (i = 1; i <= n; i++) if (val[order[i], "name"] == child && val[order[i], "state"] == "INSTALLED") { print c order[i]; exit } }' <<<"$1"
}

# log_has FILE REGEX: grep -E in a log file.
log_has() { grep -Eq -- "$2" "$1"; }

# check_log DESC FILE REGEX: PASS if the log has a line matching REGEX (the line is shown).
check_log() {
  local line
  line=$(grep -E -m1 -- "$3" "$2" 2>/dev/null || true)
  if [[ -n "$line" ]]; then
    check_pass "$1 [$(sed -E 's/^[0-9.:]+ //' <<<"$line" | cut -c1-150)]"
  else
    check_fail "$1" "no line matching /$3/ in $(basename "$(dirname "$2")")/$(basename "$2")"
  fi
}

# check_within DESC MAX_MS ACTUAL_MS
check_within() {
  if [[ "$3" =~ ^[0-9]+$ ]] && (($3 <= $2)); then
    check_pass "$1 [${3} ms <= $2 ms]"
  else
    check_fail "$1" "took '${3}' ms, budget $2 ms"
  fi
}

charon_sa_gone() { [[ "$(charon_count_ike "$1" ESTABLISHED)" == 0 && -z "$(charon_ike_get "$1" peer state)" ]]; }
ikeme_sa_gone() { [[ "$(ikeme_count_sas "$1")" == 0 ]]; }

# ---------------------------------------------------------------------------------------------
# Case set-up and tear-down

CASE_TAG='' CASE_FAILED_BEFORE=0 CASE_T0=0
IK='' CH='' IK_NS='' CH_NS='' IK_ROLE=''
declare -A CASE_MS=()

# begin_case TAG: returns 1 (skip) if the filter excludes TAG.
begin_case() {
  CASE_TAG=$1
  if [[ -n "$FILTER" && "$CASE_TAG" != *"$FILTER"* ]]; then
    return 1
  fi
  echo "=== case $CASE_TAG"
  CASE_FAILED_BEFORE=$IKM_CHECKS_FAILED
  CASE_T0=$(ikm_now_ms)
}

end_case() {
  if ((IKM_CHECKS_FAILED > CASE_FAILED_BEFORE)); then
    [[ -n "$IK" ]] && ikeme_dump_logs "$IK" 40
    [[ -n "$CH" && -n "${CHARON_DIR[$CH]:-}" ]] && charon_dump_logs "$CH" 40
  fi
  [[ -n "$IK" ]] && ikeme_stop "$IK"
  [[ -n "$CH" ]] && charon_stop "$CH"
  if [[ "${IKM_KEEP_RUN_DIR:-0}" == 1 ]]; then
    # The next case reuses the instance names: keep this case's logs apart.
    local keep
    keep="$IKM_RUN_DIR/cases/$(tr -c 'a-zA-Z0-9\n-' _ <<<"$CASE_TAG")"
    mkdir -p "$keep"
    local d
    d=$(ikeme_dir "$IK")
    cp "$d/peer.yaml" "$d/peer.log" "$d/stdout" "$keep/" 2>/dev/null || true
    cp "$(charon_log "$CH")" "$keep/charon.log" 2>/dev/null || true
    cp "${CHARON_CONF[$CH]:-/nonexistent}/swanctl.conf" "$keep/" 2>/dev/null || true
  fi
  topo_destroy
  local ms=$(($(ikm_now_ms) - CASE_T0))
  CASE_MS[$CASE_TAG]=$ms
  echo "    case took $ms ms"
  IK='' CH=''
}

# start_pair TOPO ROLE key=value...: fresh topology (direct|nat), ikeme as ROLE (init|resp; the
# initiator is "left"), charon on the other side, both configured for the same connection
# "peer" with child "peer" and started (charon's config loaded, ikeme answering). Keys:
#   proposals, esp             both sides (defaults: the first proposal set)
#   ikeme.KEY=V, charon.KEY=V  passed to ikeme_conf_psk_peer / charon_conf_psk_peer
#   charon_extra               literal lines inside charon { } (strongswan.extra.conf)
# Sets IK/CH (instance names), IK_NS/CH_NS (short namespace names), IK_ROLE.
start_pair() {
  local topo=$1 role=$2 arg
  shift 2
  local proposals=aes128-sha256-x25519 esp=aes128gcm16 charon_extra=''
  local ik_args=() ch_args=()
  for arg in "$@"; do
    case "$arg" in
      proposals=*) proposals=${arg#*=} ;;
      esp=*) esp=${arg#*=} ;;
      charon_extra=*) charon_extra=${arg#*=} ;;
      ikeme.*) ik_args+=("${arg#ikeme.}") ;;
      charon.*) ch_args+=("${arg#charon.}") ;;
      *) ikm_die "start_pair: unknown argument '$arg'" ;;
    esac
  done
  case "$topo" in
    direct) topo_direct ;;
    nat) topo_nat "" ;;   # no port range: plain masquerade
    *) ikm_die "start_pair: unknown topology '$topo'" ;;
  esac
  IK_ROLE=$role
  local ik_addr ch_addr ik_ts ch_ts ik_id ch_id ik_remote
  if [[ "$role" == init ]]; then
    IK=left CH=right IK_NS=left CH_NS=right
    ik_addr=$TOPO_LEFT_ADDR ch_addr=$TOPO_RIGHT_ADDR ik_ts=$TOPO_LEFT_TS ch_ts=$TOPO_RIGHT_TS
    ik_id=left@ikeme.test ch_id=right@ikeme.test ik_remote=$TOPO_RIGHT_ADDR
  else
    IK=right CH=left IK_NS=right CH_NS=left
    ik_addr=$TOPO_RIGHT_ADDR ch_addr=$TOPO_LEFT_ADDR ik_ts=$TOPO_RIGHT_TS ch_ts=$TOPO_LEFT_TS
    ik_id=right@ikeme.test ch_id=left@ikeme.test ik_remote='"%any"'
  fi
  # charon: the responder accepts any address (the initiator may come through the NAT).
  local ch_remote=%any
  [[ "$role" == resp ]] && ch_remote=$TOPO_RIGHT_ADDR
  local cdir="$IKM_RUN_DIR/conf-$CH"
  charon_conf_psk_peer "$cdir" local_addrs="$ch_addr" remote_addrs="$ch_remote" \
    local_id="$ch_id" remote_id="$ik_id" psk="$PSK" proposals="$proposals" esp_proposals="$esp" \
    local_ts="$ch_ts" remote_ts="$ik_ts" rekey_time=0 child_rekey_time=0 "${ch_args[@]}"
  cat >"$cdir/strongswan.extra.conf" <<EOF
charon {
  retransmit_timeout = 1
  retransmit_base = 1.2
  retransmit_tries = 3
  filelog {
    main {
      enc = ${CHARON_LOG_ENC:-1}
      net = 2
      cfg = 2
    }
  }
$charon_extra
}
EOF
  ikeme_conf_psk_peer "$IK" local_addrs="$ik_addr" remote_addrs="$ik_remote" \
    local_id="$ik_id" remote_id="$ch_id" psk="$PSK" proposals="$proposals" esp_proposals="$esp" \
    local_ts="$ik_ts" remote_ts="$ch_ts" "${ik_args[@]}"
  charon_start "$CH_NS" "$CH" "$cdir"
  if ! ikeme_start "$IK_NS" "$IK" 5; then
    check_fail "$CASE_TAG ikeme-peer started"
    return 1
  fi
  if ! charon_wait_ready "$CH" 10 || ! charon_load "$CH" 2>/dev/null; then
    check_fail "$CASE_TAG charon started and loaded"
    return 1
  fi
}

# bring_up: the initiator (left) initiates; waits for both sides to list the SAs.
bring_up() {
  if [[ "$IK_ROLE" == init ]]; then
    ikeme_ctl "$IK" initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
    charon_wait_sa "$CH" peer peer 5 && ikeme__sa_up "$IK" peer peer
  else
    charon_swanctl "$CH" --initiate --child peer --timeout 10 >/dev/null 2>&1 || true
    ikeme_wait_sa "$IK" peer peer 5 && charon__sa_up "$CH" peer peer
  fi
}

# check_up DESC: bring_up as a check. Returns 1 (after one FAIL line) if the SAs are not up.
check_up() {
  local t0 t1
  t0=$(ikm_now_ms)
  if bring_up; then
    t1=$(ikm_now_ms)
    check_pass "$CASE_TAG $1 [$((t1 - t0)) ms]"
  else
    check_fail "$CASE_TAG $1" "SAs not up on both sides; remaining checks of this case skipped"
    return 1
  fi
}

# check_sa_pair EXP_IKE EXP_ESP: the full comparison of both sides' view of the SAs.
check_sa_pair() {
  local exp_ike=$1 exp_esp=$2 tag=$CASE_TAG ikf chf cp
  ikf=$(ikeme_sas_flat "$IK")
  chf=$(charon_sas_flat "$CH")
  cp=$(charon_child_prefix "$chf" peer peer)

  check_eq "$tag ikeme IKE SA state" ESTABLISHED "$(flat_get "$ikf" peer.state)"
  check_eq "$tag charon IKE SA state" ESTABLISHED "$(flat_get "$chf" peer.state)"
  local ispi rspi
  ispi=$(flat_get "$ikf" peer.initiator-spi)
  rspi=$(flat_get "$ikf" peer.responder-spi)
  check_nonempty "$tag ikeme IKE SPIs" "${ispi:+$ispi/$rspi}"
  check_eq "$tag initiator SPI equal on both sides" "$ispi" "$(flat_get "$chf" peer.initiator-spi)"
  check_eq "$tag responder SPI equal on both sides" "$rspi" "$(flat_get "$chf" peer.responder-spi)"
  if [[ "$IK_ROLE" == init ]]; then
    check_eq "$tag roles (ikeme initiator / charon responder)" "true/-" \
      "$(flat_get "$ikf" peer.initiator)/$(or_dash "$(flat_get "$chf" peer.initiator)")"
  else
    check_eq "$tag roles (ikeme responder / charon initiator)" "false/yes" \
      "$(flat_get "$ikf" peer.initiator)/$(flat_get "$chf" peer.initiator)"
  fi
  check_eq "$tag identities (ikeme local/remote = charon remote/local)" \
    "$(flat_get "$chf" peer.remote-id)/$(flat_get "$chf" peer.local-id)" \
    "$(flat_get "$ikf" peer.local-id)/$(flat_get "$ikf" peer.remote-id)"

  local ik_ike ch_ike
  ik_ike=$(ikeme_algs "$(flat_get "$ikf" peer.algorithms)" ike)
  ch_ike=$(charon_algs "$chf" peer ike)
  check_eq "$tag ikeme IKE algorithms" "$exp_ike" "$ik_ike"
  check_eq "$tag charon IKE algorithms" "$exp_ike" "$ch_ike"

  # CHILD_SA
  local ik_in ik_out ch_in ch_out
  ik_in=$(flat_get "$ikf" peer.child-sas.peer.spi-in)
  ik_out=$(flat_get "$ikf" peer.child-sas.peer.spi-out)
  ch_in=$(flat_get "$chf" "$cp.spi-in")
  ch_out=$(flat_get "$chf" "$cp.spi-out")
  check_eq "$tag ikeme CHILD_SA state" INSTALLED "$(flat_get "$ikf" peer.child-sas.peer.state)"
  check_nonempty "$tag charon CHILD_SA INSTALLED (spi in/out)" "${ch_in:+$ch_in/$ch_out}"
  check_nonempty "$tag ikeme CHILD_SA spi in/out" "${ik_in:+$ik_in/$ik_out}"
  check_eq "$tag ESP SPI ikeme in = charon out" "$ik_in" "$ch_out"
  check_eq "$tag ESP SPI ikeme out = charon in" "$ik_out" "$ch_in"
  check_eq "$tag ikeme ESP algorithms" "$exp_esp" "$(ikeme_algs "$(flat_get "$ikf" peer.child-sas.peer.algorithms)" esp)"
  check_eq "$tag charon ESP algorithms" "$exp_esp" "$(charon_algs "$chf" "$cp" esp)"
  check_eq "$tag mode (ikeme/charon)" "TUNNEL/TUNNEL" \
    "$(flat_get "$ikf" peer.child-sas.peer.mode)/$(flat_get "$chf" "$cp.mode")"
  # kernel-libipsec fakes NAT-D, so ESP is UDP-encapsulated on both sides even without NAT.
  check_eq "$tag ESP in UDP (ikeme encap/charon encap)" "true/yes" \
    "$(flat_get "$ikf" peer.child-sas.peer.encap)/$(flat_get "$chf" "$cp.encap")"
  local ik_lts ik_rts
  ik_lts=$(flat_get "$ikf" peer.child-sas.peer.local-ts)
  ik_rts=$(flat_get "$ikf" peer.child-sas.peer.remote-ts)
  local exp_l=$TOPO_LEFT_TS exp_r=$TOPO_RIGHT_TS
  [[ "$IK_ROLE" == resp ]] && exp_l=$TOPO_RIGHT_TS exp_r=$TOPO_LEFT_TS
  check_eq "$tag ikeme traffic selectors (local === remote)" "$exp_l === $exp_r" "$ik_lts === $ik_rts"
  check_eq "$tag charon traffic selectors mirror ikeme's" "$ik_rts === $ik_lts" \
    "$(flat_get "$chf" "$cp.local-ts") === $(flat_get "$chf" "$cp.remote-ts")"
}

# ---------------------------------------------------------------------------------------------
# 1. proposals, both roles, direct

case_proposals() {
  local entry=$1 role=$2 name ike esp exp_ike exp_esp
  IFS='|' read -r name ike esp exp_ike exp_esp <<<"$entry"
  begin_case "[proposals/$name/ikeme-$role]" || return 0
  if start_pair direct "$role" proposals="$ike" esp="$esp" && check_up "SAs up"; then
    check_sa_pair "$exp_ike" "$exp_esp"
    # Direct: no NAT of ikeme's own; charon fakes NAT-D, so ikeme sees "the peer behind NAT".
    local ikf
    ikf=$(ikeme_sas_flat "$IK")
    check_eq "$CASE_TAG ikeme nat-local (no NAT in front of ikeme)" false "$(flat_get "$ikf" peer.nat-local)"
    check_eq "$CASE_TAG charon has no nat-local" - "$(or_dash "$(charon_ike_get "$CH" peer nat-local)")"
    # kernel-libipsec makes charon fake its NAT-D hashes, and ikeme's userspace data plane
    # (esp_backend auto on this ESP-less kernel) makes ikeme fake its own (encap: yes): each
    # side reports the other behind a NAT, in either role.
    check_eq "$CASE_TAG charon nat-remote / ikeme nat-remote" yes/true \
      "$(charon_ike_get "$CH" peer nat-remote)/$(flat_get "$ikf" peer.nat-remote)"
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# 2. NAT, both roles

case_nat() {
  local role=$1 entry=${PROPOSALS[0]} name ike esp exp_ike exp_esp
  IFS='|' read -r name ike esp exp_ike exp_esp <<<"$entry"
  begin_case "[nat/ikeme-$role]" || return 0
  if start_pair nat "$role" proposals="$ike" esp="$esp" ikeme.keepalive=1s \
    charon_extra="  keep_alive = 1s" && check_up "SAs up through the NAT"; then
    check_sa_pair "$exp_ike" "$exp_esp"
    local ikf chf tag=$CASE_TAG
    ikf=$(ikeme_sas_flat "$IK")
    chf=$(charon_sas_flat "$CH")
    if [[ "$role" == init ]]; then
      # ikeme (left) is behind the NAT.
      check_eq "$tag ikeme detects its own NAT (nat-local)" true "$(flat_get "$ikf" peer.nat-local)"
      check_eq "$tag charon sees the peer behind NAT (nat-remote)" yes "$(flat_get "$chf" peer.nat-remote)"
      check_eq "$tag charon has no nat-local" - "$(or_dash "$(flat_get "$chf" peer.nat-local)")"
      check_eq "$tag charon sees ikeme at the NAT's address" "$TOPO_LEFT_SEEN_AS" "$(flat_get "$chf" peer.remote-host)"
      check_log "$tag ikeme logged its NAT" "$(ikeme_log "$IK")" 'local host is behind NAT'
      check_log "$tag ikeme floated to 4500" "$(ikeme_log "$IK")" 'switching to NAT-T port 4500'
    else
      # charon (left) is behind the NAT.
      check_eq "$tag charon detects its own NAT (nat-local)" yes "$(flat_get "$chf" peer.nat-local)"
      check_eq "$tag ikeme sees the peer behind NAT (nat-remote)" true "$(flat_get "$ikf" peer.nat-remote)"
      check_eq "$tag ikeme has no nat-local" false "$(flat_get "$ikf" peer.nat-local)"
      check_eq "$tag ikeme sees charon at the NAT's address" "$TOPO_LEFT_SEEN_AS" "$(flat_get "$ikf" peer.remote-host)"
      check_log "$tag ikeme logged the peer's NAT" "$(ikeme_log "$IK")" 'remote host is behind NAT'
      check_log "$tag ikeme followed the float to 4500" "$(ikeme_log "$IK")" \
        "remote endpoint changed from $TOPO_LEFT_SEEN_AS\[500\] to $TOPO_LEFT_SEEN_AS\[4500\]"
    fi
    check_eq "$tag ikeme ports local/remote" "4500/4500" \
      "$(flat_get "$ikf" peer.local-port)/$(flat_get "$ikf" peer.remote-port)"
    check_eq "$tag charon ports local/remote" "4500/4500" \
      "$(flat_get "$chf" peer.local-port)/$(flat_get "$chf" peer.remote-port)"
    local rlog
    rlog=$(if [[ $role == init ]]; then charon_log "$CH"; else ikeme_log "$IK"; fi)
    check_log "$tag responder got IKE_SA_INIT on port 500" "$rlog" \
      "received packet: from $TOPO_LEFT_SEEN_AS\[[0-9]+\] to $TOPO_RIGHT_ADDR\[500\]"
    check_log "$tag responder got IKE_AUTH on port 4500" "$rlog" \
      "received packet: from $TOPO_LEFT_SEEN_AS\[[0-9]+\] to $TOPO_RIGHT_ADDR\[4500\]"
    # NAT keepalives from the side behind the NAT (interval 1 s on both daemons here).
    if [[ "$role" == init ]]; then
      if ikm_wait_until 3 log_has "$(ikeme_log "$IK")" \
        "sent 1 bytes from $TOPO_LEFT_ADDR\[4500\] to $TOPO_RIGHT_ADDR\[4500\]"; then
        check_pass "$tag ikeme sends NAT keepalives to charon"
      else
        check_fail "$tag ikeme sends NAT keepalives to charon" "no 1-byte datagram in 3 s"
      fi
    else
      if ikm_wait_until 3 ikeme__keepalive_seen "$IK"; then
        check_pass "$tag ikeme receives charon's NAT keepalives (stats keepalives-received)"
      else
        check_fail "$tag ikeme receives charon's NAT keepalives (stats keepalives-received)"
      fi
    fi
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# 3. charon demands cookies

case_cookie() {
  begin_case "[cookie/ikeme-init]" || return 0
  # cookie_threshold 1: COOKIEs once one half-open SA exists (and for 10 s after). The first
  # attempt is made half-open on purpose: its IKE_AUTH (port 4500) is dropped at charon.
  if start_pair direct init charon_extra="  cookie_threshold = 1
  cookie_threshold_ip = 1
  block_threshold = 10"; then
    local tag=$CASE_TAG
    nsx "$CH_NS" nft -f - <<'EOF'
table inet ikm_block {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 4500 drop
  }
}
EOF
    ikeme_ctl "$IK" initiate --ike peer --timeout 0 >/dev/null 2>&1 || true
    if ikm_wait_until 3 charon__half_open "$CH"; then
      check_pass "$tag charon holds a half-open IKE SA (IKE_AUTH dropped)"
    else
      check_fail "$tag charon holds a half-open IKE SA (IKE_AUTH dropped)"
    fi
    ikeme_ctl "$IK" terminate --ike peer --timeout 3 >/dev/null 2>&1 || true
    nsx "$CH_NS" nft delete table inet ikm_block
    if check_up "SAs up after the COOKIE round"; then
      local il cl
      il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
      check_log "$tag charon sent a COOKIE" "$cl" 'sending COOKIE notify'
      check_log "$tag ikeme got the COOKIE and retried" "$il" 'received COOKIE, restarting IKE_SA_INIT with it'
      check_log "$tag ikeme's second IKE_SA_INIT starts with N(COOKIE)" "$il" \
        'generating IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No'
      check_log "$tag charon parsed the request with the COOKIE" "$cl" \
        'parsed IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No'
      local name ike esp exp_ike exp_esp
      IFS='|' read -r name ike esp exp_ike exp_esp <<<"${PROPOSALS[0]}"
      check_sa_pair "$exp_ike" "$exp_esp"
    fi
  fi
  end_case
}

ikeme__keepalive_seen() {
  local n
  n=$(ikeme_ctl "$1" --json stats | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["stats"]["daemon"]["keepalives-received"])') || return 1
  ((n >= 1))
}

charon__half_open() { (($(charon_count_ike "$1" CONNECTING) >= 1)); }

# ---------------------------------------------------------------------------------------------
# 4. INVALID_KE_PAYLOAD from ikeme (charon initiates with x25519 first)

case_invalid_ke() {
  begin_case "[invalid-ke/ikeme-resp]" || return 0
  if start_pair direct resp esp=aes128gcm16 charon.proposals=aes128-sha256-x25519-ecp256 \
    ikeme.proposals=aes128-sha256-ecp256 && check_up "SAs up after INVALID_KE_PAYLOAD"; then
    local tag=$CASE_TAG il cl
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    check_eq "$tag ikeme DH group" ECP_256 "$(ikeme_algs "$(ikeme_ike_get "$IK" peer algorithms)" ike | cut -d/ -f5)"
    check_eq "$tag charon DH group" ECP_256 "$(charon_ike_get "$CH" peer dh-group)"
    check_log "$tag ikeme logged charon's request (x25519 KE first)" "$il" \
      'parsed IKE_SA_INIT request 0 \[ SA KE No N\(NATD_S_IP\) N\(NATD_D_IP\)'
    check_log "$tag ikeme refused CURVE_25519" "$il" \
      'refusing IKE_SA_INIT from .*: key exchange group CURVE_25519 is not the selected ECP_256'
    check_log "$tag ikeme sent INVALID_KE_PAYLOAD" "$il" 'generating IKE_SA_INIT response 0 \[ N\(INVAL_KE\) \]'
    check_log "$tag charon got INVALID_KE_PAYLOAD" "$cl" 'parsed IKE_SA_INIT response 0 \[ N\(INVAL_KE\) \]'
    check_log "$tag charon retried with ECP_256" "$cl" "peer didn't accept DH group CURVE_25519, it requested ECP_256"
    check_eq "$tag IKE SPIs equal on both sides" \
      "$(ikeme_ike_get "$IK" peer initiator-spi)/$(ikeme_ike_get "$IK" peer responder-spi)" \
      "$(charon_ike_get "$CH" peer initiator-spi)/$(charon_ike_get "$CH" peer responder-spi)"
  fi
  end_case
}

# ikeme as initiator proposes x25519 first, charon accepts only ecp256: charon answers
# INVALID_KE_PAYLOAD and ikeme restarts IKE_SA_INIT with ECP_256.
case_invalid_ke_init() {
  begin_case "[invalid-ke/ikeme-init]" || return 0
  if start_pair direct init ikeme.proposals=aes128-sha256-x25519-ecp256 \
    charon.proposals=aes128-sha256-ecp256 && check_up "SAs up after INVALID_KE_PAYLOAD"; then
    local tag=$CASE_TAG il cl
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    check_eq "$tag ikeme DH group" ECP_256 "$(ikeme_algs "$(ikeme_ike_get "$IK" peer algorithms)" ike | cut -d/ -f5)"
    check_eq "$tag charon DH group" ECP_256 "$(charon_ike_get "$CH" peer dh-group)"
    check_log "$tag charon sent INVALID_KE_PAYLOAD" "$cl" 'generating IKE_SA_INIT response 0 \[ N\(INVAL_KE\) \]'
    check_log "$tag ikeme retried with ECP_256" "$il" "peer didn't accept DH group CURVE_25519, it requested ECP_256"
    check_eq "$tag IKE SPIs equal on both sides" \
      "$(ikeme_ike_get "$IK" peer initiator-spi)/$(ikeme_ike_get "$IK" peer responder-spi)" \
      "$(charon_ike_get "$CH" peer initiator-spi)/$(charon_ike_get "$CH" peer responder-spi)"
  fi
  end_case
}

# ikeme as responder demands COOKIEs (cookie_threshold 0) and, in the second variant, also
# refuses charon's first KE group: charon must come back with the COOKIE, then (INVALID_KE) with
# ECP_256 and the COOKIE again.
case_cookie_resp() {
  local variant=$1 args=(ikeme.cookie_threshold=0)
  begin_case "[cookie/ikeme-resp$variant]" || return 0
  [[ -n "$variant" ]] && args+=(charon.proposals=aes128-sha256-x25519-ecp256 ikeme.proposals=aes128-sha256-ecp256)
  if start_pair direct resp "${args[@]}" && check_up "SAs up after the COOKIE round"; then
    local tag=$CASE_TAG il cl
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    check_log "$tag ikeme demanded a COOKIE" "$il" 'sending COOKIE to '
    check_log "$tag charon came back with the COOKIE" "$il" 'parsed IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No'
    check_log "$tag charon logged the COOKIE" "$cl" 'received COOKIE|COOKIE'
    if [[ -n "$variant" ]]; then
      check_log "$tag ikeme refused CURVE_25519 after the COOKIE" "$il" \
        'key exchange group CURVE_25519 is not the selected ECP_256'
      check_eq "$tag DH group (ikeme/charon)" ECP_256/ECP_256 \
        "$(ikeme_algs "$(ikeme_ike_get "$IK" peer algorithms)" ike | cut -d/ -f5)/$(charon_ike_get "$CH" peer dh-group)"
    fi
    check_eq "$tag IKE SPIs equal on both sides" \
      "$(ikeme_ike_get "$IK" peer initiator-spi)/$(ikeme_ike_get "$IK" peer responder-spi)" \
      "$(charon_ike_get "$CH" peer initiator-spi)/$(charon_ike_get "$CH" peer responder-spi)"
  fi
  end_case
}

# charon deletes only the CHILD_SA (swanctl --terminate --child): ikeme answers with the DELETE
# of its own inbound SPI; the IKE SA stays on both sides.
case_delete_child() {
  begin_case "[delete-child/ikeme-init/by-charon]" || return 0
  if start_pair direct init && check_up "SAs up"; then
    local tag=$CASE_TAG il cl ik_in
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    ik_in=$(ikeme_child_get "$IK" peer peer spi-in)
    check "$tag swanctl --terminate --child peer" charon_swanctl "$CH" --terminate --child peer --timeout 5
    if ikm_wait_until 3 ikeme__no_child "$IK"; then
      check_pass "$tag ikeme lists no CHILD_SA"
    else
      check_fail "$tag ikeme lists no CHILD_SA"
    fi
    check_eq "$tag charon lists no CHILD_SA" "" "$(charon_child_get "$CH" peer peer spi-in)"
    check_eq "$tag IKE SA still ESTABLISHED (ikeme/charon)" ESTABLISHED/ESTABLISHED \
      "$(ikeme_ike_get "$IK" peer state)/$(charon_ike_get "$CH" peer state)"
    check_log "$tag ikeme received the ESP DELETE" "$il" 'received DELETE for ESP CHILD_SA with SPI'
    check_log "$tag ikeme answered with D (its inbound SPI)" "$il" 'generating INFORMATIONAL response [0-9]+ \[ D \]'
    check_log "$tag charon accepted ikeme's answer" "$cl" "received DELETE for ESP CHILD_SA with SPI $ik_in"
  fi
  end_case
}

ikeme__no_child() { ! ikeme_sas_flat "$1" | grep -q '^peer\.child-sas\.'; }

# ---------------------------------------------------------------------------------------------
# 5. DELETE, both directions, both roles

case_delete() {
  local role=$1 by=$2
  begin_case "[delete/ikeme-$role/by-$by]" || return 0
  if start_pair direct "$role" && check_up "SAs up"; then
    local tag=$CASE_TAG t0
    t0=$(ikm_now_ms)
    if [[ "$by" == ikeme ]]; then
      check "$tag ikemectl terminate --ike peer" ikeme_ctl "$IK" terminate --ike peer --timeout 5
    else
      check "$tag swanctl --terminate --ike peer" charon_swanctl "$CH" --terminate --ike peer --timeout 5
    fi
    if ikm_wait_until 5 charon_sa_gone "$CH" && ikm_wait_until 5 ikeme_sa_gone "$IK"; then
      check_pass "$tag SA gone on both sides [$(($(ikm_now_ms) - t0)) ms]"
    else
      check_fail "$tag SA gone on both sides" \
        "charon: $(charon_count_ike "$CH" ESTABLISHED) established, ikeme: $(ikeme_count_sas "$IK") SAs"
    fi
    if [[ "$by" == ikeme ]]; then
      check_log "$tag ikeme sent DELETE" "$(ikeme_log "$IK")" 'generating INFORMATIONAL request [0-9]+ \[ D \]'
      check_log "$tag charon received DELETE" "$(charon_log "$CH")" 'received DELETE for IKE_SA peer'
    else
      check_log "$tag charon sent DELETE" "$(charon_log "$CH")" 'generating INFORMATIONAL request [0-9]+ \[ D \]'
      check_log "$tag ikeme received DELETE" "$(ikeme_log "$IK")" 'received DELETE for IKE_SA'
      check_log "$tag ikeme answered the DELETE" "$(ikeme_log "$IK")" 'generating INFORMATIONAL response [0-9]+ \[ \]'
    fi
    check_eq "$tag ikeme lists no CHILD_SA" 0 "$(ikeme_ctl "$IK" --json stats | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["child-sas"])')"
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# 6. DPD, both directions

# ikeme (initiator) checks liveness every 1 s; charon answers; then charon is SIGKILLed and
# ikeme must declare it dead within dpd_delay + dpd_timeout (1 s + 3 s) plus slack.
case_dpd_ikeme() {
  begin_case "[dpd/ikeme-checks]" || return 0
  if start_pair direct init ikeme.dpd_delay=1s ikeme.dpd_timeout=3s && check_up "SAs up"; then
    local tag=$CASE_TAG il cl
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    if ikm_wait_until 5 log_has "$il" 'parsed INFORMATIONAL response [0-9]+ \[ \]'; then
      check_pass "$tag a liveness check was answered"
    else
      check_fail "$tag a liveness check was answered"
    fi
    check_log "$tag ikeme sent a DPD request" "$il" 'sending DPD request'
    check_log "$tag ikeme's check is an empty INFORMATIONAL" "$il" 'generating INFORMATIONAL request [0-9]+ \[ \]'
    check_log "$tag charon answered it" "$cl" 'generating INFORMATIONAL response [0-9]+ \[ \]'
    check_eq "$tag SA still ESTABLISHED on ikeme" ESTABLISHED "$(ikeme_ike_get "$IK" peer state)"
    local t0
    t0=$(ikm_now_ms)
    disown "$(charon_pid "$CH")" 2>/dev/null   # no "Killed" job message in the output
    kill -KILL "$(charon_pid "$CH")"
    charon_stop "$CH"
    if ikm_wait_until 12 ikeme_sa_gone "$IK"; then
      check_within "$tag ikeme removed the SA after charon died" 5500 "$(($(ikm_now_ms) - t0))"
    else
      check_fail "$tag ikeme removed the SA after charon died" "still $(ikeme_count_sas "$IK") SA(s) after 12 s"
    fi
    check_log "$tag ikeme declared the peer dead" "$il" 'failed: liveness check timed out after 3 s, peer is dead'
    check_log "$tag ikeme retransmitted the check first" "$il" 'retransmit 1 of request with message ID'
  fi
  end_case
}

# charon (initiator) checks liveness every 1 s; ikeme answers; then ikeme-peer is SIGKILLed and
# charon must give up after its retransmissions (1 s, base 1.2, 3 tries: ~5.4 s) plus dpd_delay.
case_dpd_charon() {
  begin_case "[dpd/charon-checks]" || return 0
  if start_pair direct resp charon.dpd_delay=1s && check_up "SAs up"; then
    local tag=$CASE_TAG il cl
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    if ikm_wait_until 5 log_has "$cl" 'parsed INFORMATIONAL response [0-9]+ \[ \]'; then
      check_pass "$tag a liveness check was answered"
    else
      check_fail "$tag a liveness check was answered"
    fi
    check_log "$tag charon sent a DPD request" "$cl" 'sending DPD request'
    check_log "$tag ikeme parsed the empty INFORMATIONAL" "$il" 'parsed INFORMATIONAL request [0-9]+ \[ \]'
    check_log "$tag ikeme answered it" "$il" 'generating INFORMATIONAL response [0-9]+ \[ \]'
    local t0
    t0=$(ikm_now_ms)
    ikeme_signal_wait "$IK" KILL 5
    check_eq "$tag ikeme-peer gone after SIGKILL" 137 "$IKEME_EXIT"
    if ikm_wait_until 15 charon_sa_gone "$CH"; then
      check_within "$tag charon removed the SA after ikeme died" 9000 "$(($(ikm_now_ms) - t0))"
    else
      check_fail "$tag charon removed the SA after ikeme died" "still up after 15 s"
    fi
    check_log "$tag charon gave up on the peer" "$cl" 'giving up after 3 retransmits'
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# 7. SIGTERM to ikeme-peer

case_sigterm() {
  local role=$1
  begin_case "[sigterm/ikeme-$role]" || return 0
  if start_pair direct "$role" && check_up "SAs up"; then
    local tag=$CASE_TAG il cl t0
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    t0=$(ikm_now_ms)
    ikeme_signal_wait "$IK" TERM 5
    check_eq "$tag ikeme-peer exits 0 on SIGTERM" 0 "$IKEME_EXIT"
    check_within "$tag ikeme-peer exit time" 1500 "$(($(ikm_now_ms) - t0))"
    if ikm_wait_until 3 charon_sa_gone "$CH"; then
      check_pass "$tag charon's SA gone"
    else
      check_fail "$tag charon's SA gone" "charon still lists $(charon_count_ike "$CH") established"
    fi
    check_log "$tag ikeme logged the shutdown" "$il" 'SIGTERM received, shutting down: deleting 1 IKE SA'
    check_log "$tag ikeme sent DELETE" "$il" 'generating INFORMATIONAL request [0-9]+ \[ D \]'
    check_log "$tag charon received DELETE" "$cl" 'received DELETE for IKE_SA peer'
    if log_has "$il" 'still deleting after'; then
      check_fail "$tag ikeme got the DELETE answered before exiting" "it exited after the grace time"
    else
      check_pass "$tag ikeme got the DELETE answered before exiting"
    fi
    check "$tag ikeme removed its control socket" test ! -e "$(ikeme_sock "$IK")"
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------
# Beyond the basics: what charon does with ikeme's limits and restarts

# A CHILD_SA rekeying (CREATE_CHILD_SA with REKEY_SA), started by charon (`swanctl --rekey`, as
# after its rekey_time) or by ikeme (`ikemectl rekey`, as after its soft lifetime), with or
# without PFS: the same IKE SA on both sides, one CHILD_SA each with new SPIs, and charon closed
# the old one.
case_rekey_child() {
  local by=$1 pfs=$2
  begin_case "[rekey/$by-rekeys-child${pfs:+/pfs}]" || return 0
  local esp=aes128gcm16
  [[ -n "$pfs" ]] && esp=aes128gcm16-x25519
  if start_pair direct resp esp="$esp" && check_up "SAs up"; then
    local tag=$CASE_TAG il cl old_ike old_in name ike exp_ike exp_esp
    IFS='|' read -r name ike _ exp_ike exp_esp <<<"${PROPOSALS[0]}"
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    old_ike=$(ikeme_ike_get "$IK" peer initiator-spi)
    old_in=$(ikeme_child_get "$IK" peer peer spi-in)
    if [[ $by == charon ]]; then
      check "$tag swanctl --rekey --child peer" charon_swanctl "$CH" --rekey --child peer
    else
      check "$tag ikemectl rekey" ikeme_ctl "$IK" rekey --child-id "$(ikeme_child_get "$IK" peer peer uniqueid)"
    fi
    if ikm_wait_until 5 rekeyed "$old_in"; then
      check_pass "$tag one new CHILD_SA on both sides"
    else
      check_fail "$tag one new CHILD_SA on both sides" "ikeme: $(ikeme_ctl "$IK" list-sas 2>&1 | tr '\n' ' ')"
    fi
    check_eq "$tag the same IKE SA (a rekeying, not a reauthentication)" "$old_ike" \
      "$(ikeme_ike_get "$IK" peer initiator-spi)"
    if [[ $by == charon ]]; then
      check_log "$tag ikeme answered the rekeying" "$il" 'CHILD_SA peer\{[0-9]+\} rekeyed by the peer as peer\{[0-9]+\}'
      check_log "$tag charon deleted the old CHILD_SA" "$cl" 'closing CHILD_SA peer\{[0-9]+\}'
    else
      check_log "$tag ikeme rekeyed" "$il" 'CHILD_SA peer\{[0-9]+\} rekeyed as peer\{[0-9]+\}; deleting the old one'
      check_log "$tag charon closed the old CHILD_SA on ikeme's DELETE" "$cl" 'closing CHILD_SA peer\{[0-9]+\}'
    fi
    if [[ -n "$pfs" ]]; then
      check_log "$tag the rekeying carried KE payloads" "$il" 'CREATE_CHILD_SA (request|response) [0-9]+ \[ .*KE'
      check "$tag the new CHILD_SA names the PFS group" bash -c \
        "'$IKEMECTL' --socket '$(ikeme_sock "$IK")' list-sas | grep -q 'CURVE_25519'"
    else
      check_sa_pair "$exp_ike" "$exp_esp"
    fi
  fi
  end_case
}

# rekeyed OLD_SPI_IN: one INSTALLED CHILD_SA on each side, ikeme's inbound SPI is not OLD_SPI_IN,
# and the SPIs cross (ikeme in = charon out).
rekeyed() {
  local in
  in=$(ikeme_child_get "$IK" peer peer spi-in)
  [[ -n "$in" && "$in" != "$1" && "$(ikeme_child_get "$IK" peer peer state)" == INSTALLED &&
    "$(ikeme_ctl "$IK" --json list-sas | grep -o '"spi-in"' | wc -l)" == 1 &&
    "$(charon_child_get "$CH" peer peer spi-out)" == "$in" ]]
}

# charon rekeys the IKE SA (as it would after the connection's rekey_time): ikeme answers
# NO_ADDITIONAL_SAS, and charon 5.9.8 reauthenticates instead (a new IKE SA with new SPIs, the old
# one deleted). Afterwards both sides hold exactly one, matching, IKE SA with its CHILD_SA.
case_rekey_ike() {
  begin_case "[rekey/charon-rekeys-ike]" || return 0
  if start_pair direct resp && check_up "SAs up"; then
    local tag=$CASE_TAG il cl old name ike esp exp_ike exp_esp
    IFS='|' read -r name ike esp exp_ike exp_esp <<<"${PROPOSALS[0]}"
    il=$(ikeme_log "$IK") cl=$(charon_log "$CH")
    old=$(ikeme_ike_get "$IK" peer initiator-spi)
    check "$tag swanctl --rekey --ike peer" charon_swanctl "$CH" --rekey --ike peer
    if ikm_wait_until 5 reauthenticated "$old"; then
      check_pass "$tag charon reauthenticated: one new IKE SA on both sides"
    else
      check_fail "$tag charon reauthenticated: one new IKE SA on both sides" \
        "ikeme $(ikeme_count_sas "$IK") SA(s), charon $(charon_count_ike "$CH") established"
    fi
    check_log "$tag ikeme refused to rekey the IKE SA" "$il" \
      'generating CREATE_CHILD_SA response [0-9]+ \[ N\(NO_ADD_SAS\) \]'
    check_log "$tag charon fell back to reauthentication" "$cl" \
      'peer seems to not support IKE rekeying, starting reauthentication'
    check_sa_pair "$exp_ike" "$exp_esp"
  fi
  end_case
}

# reauthenticated OLD_SPI: each side lists exactly one ESTABLISHED IKE SA, not OLD_SPI, the same.
reauthenticated() {
  local spi
  spi=$(ikeme_ike_get "$IK" peer initiator-spi)
  [[ -n "$spi" && "$spi" != "$1" && "$(ikeme_count_sas "$IK")" == 1 &&
    "$(charon_count_ike "$CH")" == 1 && "$(charon_ike_get "$CH" peer initiator-spi)" == "$spi" ]] &&
    ikeme__sa_up "$IK" peer peer && charon__sa_up "$CH" peer peer
}

# The initiator loses its state (SIGKILL) and comes back: its new IKE_AUTH carries
# INITIAL_CONTACT, and the responder drops the stale IKE SA.
case_initial_contact() {
  local role=$1
  begin_case "[initial-contact/$([[ $role == init ]] && echo ikeme || echo charon)-restarts]" || return 0
  if start_pair direct "$role" && check_up "SAs up"; then
    local tag=$CASE_TAG old
    old=$(ikeme_ike_get "$IK" peer initiator-spi)
    if [[ "$role" == init ]]; then
      ikeme_signal_wait "$IK" KILL 5
      if ! ikeme_start "$IK_NS" "$IK" 5; then
        check_fail "$tag ikeme-peer restarted"
        end_case
        return 0
      fi
    else
      disown "$(charon_pid "$CH")" 2>/dev/null
      kill -KILL "$(charon_pid "$CH")"
      charon_stop "$CH"
      charon_start "$CH_NS" "$CH" "$IKM_RUN_DIR/conf-$CH"
      if ! charon_wait_ready "$CH" 10 || ! charon_load "$CH" 2>/dev/null; then
        check_fail "$tag charon restarted"
        end_case
        return 0
      fi
    fi
    check_up "SAs up again after the restart" || { end_case; return 0; }
    if ikm_wait_until 3 reauthenticated "$old"; then
      check_pass "$tag the responder kept only the new IKE SA"
    else
      check_fail "$tag the responder kept only the new IKE SA" \
        "ikeme $(ikeme_count_sas "$IK") SA(s), charon $(charon_count_ike "$CH") established"
    fi
    if [[ "$role" == init ]]; then
      check_log "$tag ikeme sent INITIAL_CONTACT" "$(ikeme_log "$IK")" \
        'generating IKE_AUTH request 1 \[ IDi N\(INIT_CONTACT\)'
      check_log "$tag charon dropped the old SA on INITIAL_CONTACT" "$(charon_log "$CH")" \
        "destroying duplicate IKE_SA for peer 'left@ikeme.test', received INITIAL_CONTACT"
    else
      check_log "$tag ikeme dropped the old SA on INITIAL_CONTACT" "$(ikeme_log "$IK")" \
        "destroying IKE_SA peer\[[0-9]+\]: peer 'left@ikeme.test' sent INITIAL_CONTACT"
    fi
  fi
  end_case
}

# ---------------------------------------------------------------------------------------------

for entry in "${PROPOSALS[@]}"; do
  case_proposals "$entry" init
  case_proposals "$entry" resp
done
case_nat init
case_nat resp
case_cookie
case_cookie_resp ""
case_cookie_resp "+invalid-ke"
case_invalid_ke
case_invalid_ke_init
case_delete_child
case_delete init ikeme
case_delete init charon
case_delete resp ikeme
case_delete resp charon
case_dpd_ikeme
case_dpd_charon
case_sigterm init
case_sigterm resp
case_rekey_child charon ""
case_rekey_child ikeme ""
case_rekey_child charon pfs
case_rekey_child ikeme pfs
case_rekey_ike
case_initial_contact init
case_initial_contact resp

echo "ikeme_charon_psk: case times (ms):"
for tag in "${!CASE_MS[@]}"; do
  printf '    %6d  %s\n' "${CASE_MS[$tag]}" "$tag"
done | sort -k2
echo "ikeme_charon_psk: total $(($(ikm_now_ms) - START)) ms"
check_summary || exit 1
