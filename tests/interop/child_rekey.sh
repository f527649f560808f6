#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# CHILD_SA rekeying with CREATE_CHILD_SA (RFC 7296 §1.3.3, §2.8) end to end, with the userspace
# ESP data plane (esp_backend: userspace) carrying a steady ping (one echo every 10 ms) while
# the CHILD_SAs are replaced. topo_direct: left 192.0.2.1, right 192.0.2.2, inner addresses
# 10.1.0.10 (left) and 10.2.0.10 (right), selectors 10.1.0.10/32 === 10.2.0.10/32.
#
# After every rekey each side must list exactly one CHILD_SA, with a unique id and SPIs not seen
# before, whose inbound SPI is the other side's outbound SPI; the IKE SA stays the same (unique
# id and IKE SPIs: a rekey is not a reauthentication); the new CHILD_SA counts packets; the old
# one is deleted on both sides. The ping must not lose an echo, and no ikeme data plane may
# drop ESP for an unknown SPI.
#
# Cases (PASS/FAIL lines):
#   ikeme-ikeme     left's child has rekey_time 3s/life_time 6s (right's the default 1h): left
#                   rekeys three times (no PFS) while the ping runs
#   ikeme-pfs       the same with esp_proposals aes128gcm16-x25519 on both, one rekey: it carries
#                   KE payloads (a fresh x25519 exchange) and the new CHILD_SA lists CURVE_25519
#   ikeme-charon    ikeme (left, IKE initiator, rekey_time 3s) rekeys towards charon 5.9.8
#                   (kernel-libipsec, child rekey_time 1h) twice; charon's log and
#                   swanctl --list-sas show the replacement
#   charon-ikeme    charon (left, IKE initiator, child rekey_time 3s, PFS x25519) rekeys towards
#                   ikeme (right, the default 1h) twice: ikeme answers as responder; then
#                   `ikemectl rekey --child-id` makes ikeme rekey towards charon (with PFS), and
#                   an unknown id is refused
#   charon-ike-rekey  charon rekeys the IKE SA (rekey_time 5s): ikeme answers NO_ADDITIONAL_SAS
#                   (IKE SA rekeying is not implemented); what charon does then is recorded,
#                   the tunnel must carry the ping afterwards and neither daemon may crash
#
# usage: tests/interop/child_rekey.sh [IKEME_PEER [IKEMECTL [CASE_FILTER]]]
# Needs root (fails, does not skip, without it). Exit 0 only if every check passed.
# IKM_KEEP_RUN_DIR=1 keeps the logs (per case under cases/).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, TUN devices" ip swanctl unshare /usr/bin/python3 /usr/lib/ipsec/charon /dev/net/tun

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
PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# One echo every 10 ms, and none may be lost: a rekey must not open a window in which one side
# sends on an SA the other cannot take. Two such windows existed in the engine's first version:
# the responder sent on the new CHILD_SA before the initiator had installed it (an echo lost in
# 2 of 15 ikeme <-> ikeme rekeys at this rate), and the initiator removed the old inbound SA
# while charon still sent on it (seen once). The ikeme data planes' unknown-spi counters must
# stay 0 too.
PING_INTERVAL=${IKM_PING_INTERVAL:-0.01}
MAX_LOST=${IKM_MAX_LOST:-0}

echo "child_rekey: run prefix $IKM_PREFIX"
ikeme_use_binaries "$PEER_ARG" "$CTL_ARG" 60 || pre_fail "cannot use $PEER_ARG / $CTL_ARG"

want() { [[ -z "$FILTER" || "$1" == *"$FILTER"* ]]; }

# keep_logs TAG: with IKM_KEEP_RUN_DIR=1, copies the case's logs to $IKM_RUN_DIR/cases/TAG/.
keep_logs() {
  [[ "${IKM_KEEP_RUN_DIR:-0}" == 1 ]] || return 0
  local dir="$IKM_RUN_DIR/cases/$1" n
  mkdir -p "$dir"
  for n in left right; do
    cp "$(ikeme_log "$n")" "$dir/ikeme-$n.log" 2>/dev/null || true
    if [[ -n "${CHARON_DIR[$n]:-}" ]]; then cp "$(charon_log "$n")" "$dir/charon-$n.log" 2>/dev/null || true; fi
  done
  cp "$IKM_RUN_DIR"/ping-*.log "$dir/" 2>/dev/null || true
}

# ikeme_side NAME LOCAL REMOTE LOCAL_TS REMOTE_TS ID PEER_ID [key=value...]
ikeme_side() {
  local name=$1 local=$2 remote=$3 lts=$4 rts=$5 id=$6 peer_id=$7
  shift 7
  ikeme_conf_psk_peer "$name" local_addrs="$local" remote_addrs="$remote" local_id="$id" \
    remote_id="$peer_id" psk="$PSK" local_ts="$lts" remote_ts="$rts" \
    extra_daemon="  esp_backend: userspace
  tun_name: ikm$name" "$@"
}

# charon_side NAME NS LOCAL REMOTE LTS RTS ID PEER_ID [key=value...] (charon_conf_psk_peer's)
charon_side() {
  local name=$1 nsname=$2 local=$3 remote=$4 lts=$5 rts=$6 id=$7 peer_id=$8
  shift 8
  local dir="$IKM_RUN_DIR/conf-$name"
  charon_conf_psk_peer "$dir" local_addrs="$local" remote_addrs="$remote" local_id="$id" \
    remote_id="$peer_id" psk="$PSK" local_ts="$lts" remote_ts="$rts" "$@"
  charon_start "$nsname" "$name" "$dir"
  charon_wait_ready "$name" && charon_load "$name"
}

# ---------------------------------------------------------------------------------------------
# Both kinds of peer behind one interface: a side is "ikeme NAME" or "charon NAME".

# side_children KIND NAME: one line "UNIQUEID SPI_IN SPI_OUT PACKETS_IN STATE" per CHILD_SA of
# every IKE SA, whatever its state (a rekeyed CHILD_SA still listed counts), except charon's
# DELETED ones: charon 5.9 keeps a CHILD_SA it closed after a rekey listed, in state DELETED,
# for charon.delete_rekeyed_delay (5 s) so its inbound SA still takes late packets.
side_children() {
  if [[ $1 == ikeme ]]; then
    ikeme_ctl "$2" --json list-sas 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for sa in json.load(sys.stdin).get("sas", []):
    for c in sa.get("child-sas", []):
        print(c.get("uniqueid"), c.get("spi-in"), c.get("spi-out"), c.get("packets-in", "-"), c.get("state"))
'
  else
    charon_sas_flat "$2" | awk '
      match($0, /\.child-sas\.[^.]+\./) {
        sec = substr($0, 1, RSTART + RLENGTH - 2); kv = substr($0, RSTART + RLENGTH)
        eq = index(kv, "="); k = substr(kv, 1, eq - 1)
        if (!(sec in seen)) { seen[sec] = 1; order[++n] = sec }
        val[sec, k] = substr(kv, eq + 1)
      }
      END {
        for (i = 1; i <= n; i++) {
          s = order[i]
          p = val[s, "packets-in"]; if (p == "") p = "-"
          if (val[s, "state"] == "DELETED") continue
          print val[s, "uniqueid"], val[s, "spi-in"], val[s, "spi-out"], p, val[s, "state"]
        }
      }'
  fi
}

# side_ike KIND NAME: one line "UNIQUEID INITIATOR_SPI RESPONDER_SPI STATE" per IKE SA.
side_ike() {
  if [[ $1 == ikeme ]]; then
    ikeme_ctl "$2" --json list-sas 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for sa in json.load(sys.stdin).get("sas", []):
    print(sa.get("uniqueid"), sa.get("initiator-spi"), sa.get("responder-spi"), sa.get("state"))
'
  else
    charon_sas_flat "$2" | awk -F= '
      /^[^.]+\.(uniqueid|initiator-spi|responder-spi|state)=/ {
        split($1, p, "."); sa = p[1]
        if (!(sa in seen)) { seen[sa] = 1; order[++n] = sa }
        val[sa, p[2]] = $2
      }
      END { for (i = 1; i <= n; i++) { s = order[i]; print val[s, "uniqueid"], val[s, "initiator-spi"], val[s, "responder-spi"], val[s, "state"] } }'
  fi
}

# side_child_packets KIND NAME UNIQUEID: packets-in of that CHILD_SA (empty if gone).
side_child_packets() {
  side_children "$1" "$2" | awk -v u="$3" '$1 == u { print $4; exit }'
}

side_alive() {
  if [[ $1 == ikeme ]]; then kill -0 "$(ikeme_pid "$2")" 2>/dev/null; else kill -0 "$(charon_pid "$2")" 2>/dev/null; fi
}

# The pair under test: A is left, B is right.
A_KIND='' A_NAME='' B_KIND='' B_NAME=''
# The current generation: each side's single CHILD_SA (unique id, SPIs).
GEN_A_UID='' GEN_A_IN='' GEN_A_OUT='' GEN_B_UID=''
SEEN_UIDS_A=' ' SEEN_SPIS=' '

# one_child_each: sets NOW_* if A and B list exactly one CHILD_SA each and the SPIs cross-match.
one_child_each() {
  local a b
  a=$(side_children "$A_KIND" "$A_NAME") || return 1
  b=$(side_children "$B_KIND" "$B_NAME") || return 1
  [[ -n "$a" && -n "$b" && $(wc -l <<<"$a") == 1 && $(wc -l <<<"$b") == 1 ]] || return 1
  read -r NOW_A_UID NOW_A_IN NOW_A_OUT _ <<<"$a"
  read -r NOW_B_UID NOW_B_IN NOW_B_OUT _ <<<"$b"
  [[ "$NOW_A_IN" == "$NOW_B_OUT" && "$NOW_A_OUT" == "$NOW_B_IN" ]]
}

# new_generation: one_child_each, and A's CHILD_SA is not one seen before.
new_generation() {
  one_child_each && [[ "$SEEN_UIDS_A" != *" $NOW_A_UID "* ]]
}

take_generation() {
  GEN_A_UID=$NOW_A_UID GEN_A_IN=$NOW_A_IN GEN_A_OUT=$NOW_A_OUT
  GEN_B_UID=$NOW_B_UID
  SEEN_UIDS_A+="$GEN_A_UID " SEEN_SPIS+="$GEN_A_IN $GEN_A_OUT "
}

# Rekeys observed in the current case: "A_OLD_UID A_NEW_UID B_OLD_UID B_NEW_UID OLD_A_IN OLD_A_OUT"
REKEYS=()
IKE_A='' IKE_B=''

# start_generations TAG: the first CHILD_SA and both IKE SAs, as the references.
start_generations() {
  local tag=$1
  SEEN_UIDS_A=' ' SEEN_SPIS=' ' REKEYS=()
  if ikm_wait_until 5 one_child_each; then
    take_generation
    check_pass "$tag: one CHILD_SA each, SPIs match (${GEN_A_IN}_i ${GEN_A_OUT}_o on left)"
  else
    check_fail "$tag: one CHILD_SA each, SPIs match" "left: $(side_children "$A_KIND" "$A_NAME" | tr '\n' ';') right: $(side_children "$B_KIND" "$B_NAME" | tr '\n' ';')"
    return 1
  fi
  IKE_A=$(side_ike "$A_KIND" "$A_NAME")
  IKE_B=$(side_ike "$B_KIND" "$B_NAME")
}

# watch_rekeys TAG COUNT TIMEOUT_S: waits (each up to TIMEOUT_S) for COUNT rekeys, checking after
# each: exactly one CHILD_SA per side, new unique ids and SPIs, matching SPIs, the IKE SAs
# unchanged, and (a moment later, while the ping runs) inbound packets on the new CHILD_SA.
watch_rekeys() {
  local tag=$1 count=$2 timeout=$3 k old_a old_b old_in old_out pa pb fresh
  for ((k = 1; k <= count; k++)); do
    old_a=$GEN_A_UID old_b=$GEN_B_UID old_in=$GEN_A_IN old_out=$GEN_A_OUT
    if ! ikm_wait_until "$timeout" new_generation; then
      check_fail "$tag: rekey $k: a new CHILD_SA replaced left's {$old_a} within ${timeout}s" \
        "left: $(side_children "$A_KIND" "$A_NAME" | tr '\n' ';') right: $(side_children "$B_KIND" "$B_NAME" | tr '\n' ';')"
      return 1
    fi
    fresh=1
    [[ "$SEEN_SPIS" != *" $NOW_A_IN "* && "$SEEN_SPIS" != *" $NOW_A_OUT "* ]] || fresh=0
    take_generation
    REKEYS+=("$old_a $GEN_A_UID $old_b $GEN_B_UID $old_in $old_out")
    check_pass "$tag: rekey $k: left {$old_a} -> {$GEN_A_UID}, right {$old_b} -> {$GEN_B_UID}; one CHILD_SA each, SPIs ${GEN_A_IN}_i ${GEN_A_OUT}_o (were ${old_in}_i ${old_out}_o) match the peer's"
    check "$tag: rekey $k: right's unique id is new" test "$old_b" != "$GEN_B_UID"
    check "$tag: rekey $k: SPIs not used before" test "$fresh" = 1
    check_eq "$tag: rekey $k: left's IKE SA unchanged (uniqueid, SPIs, state)" "$IKE_A" "$(side_ike "$A_KIND" "$A_NAME")"
    check_eq "$tag: rekey $k: right's IKE SA unchanged (uniqueid, SPIs, state)" "$IKE_B" "$(side_ike "$B_KIND" "$B_NAME")"
    sleep 0.6 # three echoes and their replies
    pa=$(side_child_packets "$A_KIND" "$A_NAME" "$GEN_A_UID")
    pb=$(side_child_packets "$B_KIND" "$B_NAME" "$GEN_B_UID")
    check "$tag: rekey $k: left's new CHILD_SA {$GEN_A_UID} receives packets (packets-in=$pa)" test "${pa:-0}" -gt 0
    check "$tag: rekey $k: right's new CHILD_SA {$GEN_B_UID} receives packets (packets-in=$pb)" test "${pb:-0}" -gt 0
  done
}

# ping_start SECONDS: the steady ping left -> right (replies come back right -> left).
PING_PID='' PING_LOG=''
ping_start() {
  PING_LOG="$IKM_RUN_DIR/ping-$RANDOM.log"
  netns_spawn left "$PING_LOG" /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" \
    "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" "$(per_interval "$1")" "$PING_INTERVAL"
  PING_PID=$NETNS_SPAWN_PID
}

# per_interval SECONDS: how many pings fit in SECONDS.
per_interval() { /usr/bin/python3 -c 'import sys; print(round(float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$PING_INTERVAL"; }

# ping_finish TAG [MAX_LOST]: waits for the ping and checks its losses.
ping_finish() {
  local tag=$1 max=${2:-$MAX_LOST} summary lost n
  wait "$PING_PID" 2>/dev/null || true
  ikm_stop_pid "$PING_PID" 5
  summary=$(grep -m1 'answered' "$PING_LOG" || echo "no summary")
  lost=$(sed -n 's/^lost: //p' "$PING_LOG")
  [[ -n "$lost" ]] || lost="(no result)"
  if [[ "$lost" == none ]]; then n=0; elif [[ "$lost" == "(no result)" ]]; then n=999; else n=$(wc -w <<<"$lost"); fi
  check "$tag: the ping through the tunnel lost at most $max ($summary; lost: $lost)" test "$n" -le "$max"
  if ((n == 999)); then
    echo "  the ping's output:"
    tail -n 5 "$PING_LOG" | sed 's/^/    /'
  fi
  if ((n > 0 && n < 999)); then
    # For the report: when they were sent (to be found in the daemons' logs) and what the
    # ikeme data planes dropped (unknown-spi: ESP on a CHILD_SA not installed yet or any more).
    sed -n 's/^lost /  lost echo /p' "$PING_LOG"
    local k name
    for k in A B; do
      local kind=${k}_KIND name_var=${k}_NAME
      name=${!name_var}
      [[ ${!kind} == ikeme ]] || continue
      echo "  $name's data plane: $(ikeme_ctl "$name" --json stats 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["dataplane"])' 2>/dev/null)"
    done
  fi
}

# check_no_unknown_spi TAG NAME: NAME's data plane dropped no ESP for an unknown SPI.
check_no_unknown_spi() {
  local n
  n=$(ikeme_ctl "$2" --json stats 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stats"]["dataplane"]["unknown-spi"])' 2>/dev/null)
  check_eq "$1: $2's data plane dropped no ESP for an unknown SPI (unknown-spi)" 0 "$n"
}

# check_log DESC FILE ERE: the log has a line matching ERE.
check_log() {
  if grep -Eq -- "$3" "$2"; then check_pass "$1"; else check_fail "$1" "no line matching '$3' in $(basename "$2")"; fi
}

# rekey_fields INDEX SIDE(a|b): sets R_OLD R_NEW (that side's unique ids) and R_IN R_OUT (the old
# CHILD_SA's SPIs as that side names them) from REKEYS[INDEX].
rekey_fields() {
  local a_old a_new b_old b_new a_in a_out
  read -r a_old a_new b_old b_new a_in a_out <<<"${REKEYS[$1]}"
  if [[ $2 == a ]]; then
    R_OLD=$a_old R_NEW=$a_new R_IN=$a_in R_OUT=$a_out
  else
    R_OLD=$b_old R_NEW=$b_new R_IN=$a_out R_OUT=$a_in
  fi
}

# check_ikeme_initiated_rekeys TAG NAME SIDE(a|b) PFS_GROUP FIRST [LAST]: NAME logged the rekeys
# REKEYS[FIRST..LAST] as their initiator ("with PFS group G" when PFS_GROUP is not empty).
check_ikeme_initiated_rekeys() {
  local tag=$1 name=$2 side=$3 group=$4 first=$5 last=${6:-$((${#REKEYS[@]} - 1))} log i pfs
  log=$(ikeme_log "$name")
  pfs='$'
  [[ -z "$group" ]] || pfs=" with PFS group $group\$"
  for ((i = first; i <= last; i++)); do
    rekey_fields "$i" "$side"
    check_log "$tag: $name logged 'rekeying CHILD_SA peer{$R_OLD} (SPIs ${R_IN}_i ${R_OUT}_o)${group:+ with PFS group $group}'" "$log" \
      "rekeying CHILD_SA peer\{$R_OLD\} \(SPIs ${R_IN}_i ${R_OUT}_o\)$pfs"
    check_log "$tag: $name logged 'CHILD_SA peer{$R_OLD} rekeyed as peer{$R_NEW}'" "$log" \
      "CHILD_SA peer\{$R_OLD\} rekeyed as peer\{$R_NEW\}"
  done
}

# check_ikeme_answered_rekeys TAG NAME SIDE FIRST [LAST]: NAME logged the rekeys
# REKEYS[FIRST..LAST] as their responder.
check_ikeme_answered_rekeys() {
  local tag=$1 name=$2 side=$3 first=$4 last=${5:-$((${#REKEYS[@]} - 1))} log i
  log=$(ikeme_log "$name")
  for ((i = first; i <= last; i++)); do
    rekey_fields "$i" "$side"
    check_log "$tag: $name logged 'CHILD_SA peer{$R_OLD} rekeyed by the peer as peer{$R_NEW}'" "$log" \
      "CHILD_SA peer\{$R_OLD\} rekeyed by the peer as peer\{$R_NEW\}"
  done
}

# check_ikeme_closed TAG NAME SIDE(a|b): NAME logged the new CHILD_SAs and closed the old ones.
check_ikeme_closed() {
  local tag=$1 name=$2 side=$3 log i
  log=$(ikeme_log "$name")
  for ((i = 0; i < ${#REKEYS[@]}; i++)); do
    rekey_fields "$i" "$side"
    check_log "$tag: $name logged 'CHILD_SA peer{$R_NEW} established'" "$log" "CHILD_SA peer\{$R_NEW\} established with SPIs"
    check_log "$tag: $name logged 'CHILD_SA peer{$R_OLD} closed'" "$log" "CHILD_SA peer\{$R_OLD\} closed"
  done
}

# check_no_reauth TAG NAME: NAME's log has no hard expiry and no IKE SA deletion.
check_no_reauth() {
  local log
  log=$(ikeme_log "$2")
  check "$1: $2 saw no CHILD_SA hard expiry" bash -c "! grep -q 'expired (life time' '$log'"
  check "$1: $2 logged no 'should be rekeyed ... not implemented'" bash -c "! grep -q 'CREATE_CHILD_SA is not implemented' '$log'"
}

# setup_failed TAG KIND:NAME...: the case's SAs did not come up; dumps the daemons' logs.
setup_failed() {
  local tag=$1 side
  shift
  check_fail "$tag: SA established"
  for side in "$@"; do
    if [[ ${side%%:*} == ikeme ]]; then
      ikeme_dump_logs "${side#*:}"
    else
      charon_dump_logs "${side#*:}" 2>/dev/null || true
    fi
  done
}

# close_case TAG KIND:NAME...: keeps the logs (IKM_KEEP_RUN_DIR), stops the daemons and removes
# the topology.
close_case() {
  local tag=$1 side
  shift
  keep_logs "$tag"
  for side in "$@"; do
    if [[ ${side%%:*} == ikeme ]]; then ikeme_stop "${side#*:}"; else charon_stop "${side#*:}"; fi
  done
  topo_destroy
}

# ---------------------------------------------------------------------------------------------
# ikeme_ikeme_case TAG ESP_PROPOSALS REKEYS PING_SECONDS: ikeme <-> ikeme; left's child has
# rekey_time 3s, life_time 6s.
ikeme_ikeme_case() {
  local tag=$1 esp=$2 rekeys=$3 seconds=$4
  topo_direct
  ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" \
    left@ikeme.test right@ikeme.test esp_proposals="$esp" child_rekey_time=3s child_life_time=6s
  ikeme_side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" \
    right@ikeme.test left@ikeme.test esp_proposals="$esp"
  A_KIND=ikeme A_NAME=left B_KIND=ikeme B_NAME=right
  ikeme_start right right || true
  ikeme_start left left || true
  ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa left peer peer 10 && ikeme_wait_sa right peer peer 5 && start_generations "$tag"; then
    check_pass "$tag: SA established"
    ping_start "$seconds"
    watch_rekeys "$tag" "$rekeys" 5 || true
    # Before left's next rekey (3 s after the last): the algorithms of the current CHILD_SA.
    local algs_l algs_r
    algs_l=$(ikeme_child_get left peer peer algorithms) algs_r=$(ikeme_child_get right peer peer algorithms)
    ping_finish "$tag"
    check_no_unknown_spi "$tag" left
    check_no_unknown_spi "$tag" right
    local group=''
    [[ "$esp" != *-x25519 ]] || group=CURVE_25519
    check_ikeme_initiated_rekeys "$tag" left a "$group" 0
    check_ikeme_answered_rekeys "$tag" right b 0
    check_ikeme_closed "$tag" left a
    check_ikeme_closed "$tag" right b
    check_no_reauth "$tag" left
    check_no_reauth "$tag" right
    if [[ "$esp" == *-x25519 ]]; then
      check "$tag: left lists the rekeyed CHILD_SA's DH group ($algs_l)" grep -q CURVE_25519 <<<"$algs_l"
      check "$tag: right lists the rekeyed CHILD_SA's DH group ($algs_r)" grep -q CURVE_25519 <<<"$algs_r"
      check_log "$tag: left's rekey requests carry KE (PFS)" "$(ikeme_log left)" \
        'generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
      check_log "$tag: right's rekey responses carry KE (PFS)" "$(ikeme_log right)" \
        'generating CREATE_CHILD_SA response [0-9]+ \[ SA No KE TSi TSr \]'
    else
      check_log "$tag: left's rekey requests carry no KE (no PFS)" "$(ikeme_log left)" \
        'generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No TSi TSr \]'
    fi
    check "$tag: left alive" side_alive ikeme left
    check "$tag: right alive" side_alive ikeme right
  else
    setup_failed "$tag" ikeme:left ikeme:right
  fi
  close_case "$tag" ikeme:left ikeme:right
}

if want ikeme-ikeme; then
  ikeme_ikeme_case "[ikeme-ikeme]" aes128gcm16 3 12
fi
if want ikeme-pfs; then
  ikeme_ikeme_case "[ikeme-pfs]" aes128gcm16-x25519 1 5
fi

# ---------------------------------------------------------------------------------------------
# ikeme (left) rekeys towards charon (right).
if want ikeme-charon; then
  tag="[ikeme-charon]"
  topo_direct
  charon_side right right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" \
    right@ikeme.test left@ikeme.test esp_proposals=aes128gcm16 rekey_time=0 child_rekey_time=1h || true
  ikeme_side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" \
    left@ikeme.test right@ikeme.test esp_proposals=aes128gcm16 child_rekey_time=3s child_life_time=6s
  A_KIND=ikeme A_NAME=left B_KIND=charon B_NAME=right
  ikeme_start left left || true
  ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa left peer peer 10 && charon_wait_sa right peer peer 5 && start_generations "$tag"; then
    check_pass "$tag: SA established"
    ping_start 8
    watch_rekeys "$tag" 2 5 || true
    ping_finish "$tag"
    check_no_unknown_spi "$tag" left
    check_ikeme_initiated_rekeys "$tag" left a '' 0
    check_ikeme_closed "$tag" left a
    check_no_reauth "$tag" left
    cl=$(charon_log right)
    for r in "${REKEYS[@]}"; do
      read -r _ _ b_old b_new _ <<<"$r"
      check_log "$tag: charon installed the new inbound CHILD_SA peer{$b_new}" "$cl" \
        "inbound CHILD_SA peer\{$b_new\} established with SPIs"
      check_log "$tag: charon closed CHILD_SA peer{$b_old} on ikeme's DELETE" "$cl" \
        "closing CHILD_SA peer\{$b_old\} with SPIs"
      check_log "$tag: charon installed the new outbound CHILD_SA peer{$b_new}" "$cl" \
        "outbound CHILD_SA peer\{$b_new\} established with SPIs"
    done
    check_eq "$tag: swanctl --list-sas: one IKE SA" 1 "$(charon_count_ike right)"
    check_eq "$tag: swanctl --list-sas: charon's CHILD_SA has ikeme's outbound SPI" \
      "$(ikeme_child_get left peer peer spi-out)" "$(charon_child_get right peer peer spi-in)"
    check "$tag: ikeme alive" side_alive ikeme left
    check "$tag: charon alive" side_alive charon right
  else
    setup_failed "$tag" ikeme:left charon:right
  fi
  close_case "$tag" ikeme:left charon:right
fi

# ---------------------------------------------------------------------------------------------
# charon (left) rekeys towards ikeme (right), with PFS. charon's life_time and rand_time are set:
# their defaults (rekey_time + 10% and life_time - rekey_time, in whole seconds) give a 3 s
# life_time, hard expiry instead of a rekey. rand_time 0: with 1s (it takes whole seconds only)
# charon 5.9.8 rekeyed its new CHILD_SAs every second instead of every 3 s in a run here.
if want charon-ikeme; then
  tag="[charon-ikeme]"
  topo_direct
  ikeme_side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" \
    right@ikeme.test left@ikeme.test esp_proposals=aes128gcm16-x25519
  ikeme_start right right || true
  charon_side left left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" \
    left@ikeme.test right@ikeme.test esp_proposals=aes128gcm16-x25519 rekey_time=0 \
    child_rekey_time=3s extra_child="        life_time = 6s
        rand_time = 0s" || true
  A_KIND=charon A_NAME=left B_KIND=ikeme B_NAME=right
  charon_swanctl left --initiate --child peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa right peer peer 10 && charon_wait_sa left peer peer 5 && start_generations "$tag"; then
    check_pass "$tag: SA established"
    ping_start 9
    watch_rekeys "$tag" 2 5 || true
    # Right after charon's second rekey (its next is 3 s away): ikemectl rekey makes ikeme the
    # initiator, with PFS, towards charon.
    if ((${#REKEYS[@]} == 2)); then
      out=$(ikeme_ctl right rekey --child-id "$GEN_B_UID" 2>&1) && rc=0 || rc=$?
      check_eq "$tag: ikemectl rekey --child-id $GEN_B_UID succeeds ($out)" 0 "$rc"
      watch_rekeys "$tag (ikemectl rekey)" 1 3 || true
    fi
    out=$(ikeme_ctl right rekey --child-id 99999 2>&1) && rc=0 || rc=$?
    check "$tag: ikemectl rekey of an unknown CHILD_SA fails ($out)" test "$rc" -ne 0 -a -n "$(grep 'no CHILD_SA with id 99999' <<<"$out")"
    ping_finish "$tag"
    check_no_unknown_spi "$tag" right
    check_ikeme_answered_rekeys "$tag" right b 0 1
    check_ikeme_initiated_rekeys "$tag" right b CURVE_25519 2
    check_ikeme_closed "$tag" right b
    check_no_reauth "$tag" right
    cl=$(charon_log left)
    check_log "$tag: charon sent CREATE_CHILD_SA with N(REKEY_SA) and KE" "$cl" \
      'generating CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
    check_log "$tag: charon parsed ikeme's response with KE" "$cl" \
      'parsed CREATE_CHILD_SA response [0-9]+ \[ (.* )?KE( .*)? \]'
    check_log "$tag: charon parsed ikeme's request with N(REKEY_SA) and KE" "$cl" \
      'parsed CREATE_CHILD_SA request [0-9]+ \[ N\(REKEY_SA\) SA No KE TSi TSr \]'
    check_log "$tag: charon selected the proposal with CURVE_25519" "$cl" \
      'selected proposal: ESP:AES_GCM_16_128/CURVE_25519/NO_EXT_SEQ'
    for r in "${REKEYS[@]}"; do
      read -r a_old a_new _ <<<"$r"
      check_log "$tag: charon established CHILD_SA peer{$a_new}" "$cl" \
        "outbound CHILD_SA peer\{$a_new\} established with SPIs"
      check_log "$tag: charon closed CHILD_SA peer{$a_old} and sent DELETE" "$cl" \
        "closing CHILD_SA peer\{$a_old\} with SPIs"
    done
    check "$tag: charon did not reauthenticate" bash -c "! grep -q 'reauthenticat' '$cl'"
    check "$tag: ikeme alive" side_alive ikeme right
    check "$tag: charon alive" side_alive charon left
  else
    setup_failed "$tag" ikeme:right charon:left
  fi
  close_case "$tag" ikeme:right charon:left
fi

# ike_replaced OLD_SPI: each side lists exactly one ESTABLISHED IKE SA with the same SPIs, not
# OLD_SPI, and its CHILD_SA.
ike_replaced() {
  local a b
  a=$(side_ike charon left) b=$(side_ike ikeme right)
  [[ $(wc -l <<<"$a") == 1 && $(wc -l <<<"$b") == 1 ]] || return 1
  read -r _ ai ar as <<<"$a"
  read -r _ bi br bs <<<"$b"
  [[ "$ai" != "$1" && "$ai" == "$bi" && "$ar" == "$br" && "$as" == ESTABLISHED && "$bs" == ESTABLISHED ]] &&
    charon__sa_up left peer peer && ikeme__sa_up right peer peer
}

# ---------------------------------------------------------------------------------------------
# charon (left) rekeys the IKE SA (rekey_time 5s, rand_time 1s; over_time 20s, as its default of
# 10% in whole seconds would end the IKE SA at the rekey time): ikeme answers NO_ADDITIONAL_SAS.
# charon 5.9.8 then reauthenticates (a new IKE SA).
if want charon-ike-rekey; then
  tag="[charon-ike-rekey]"
  topo_direct
  ikeme_side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" \
    right@ikeme.test left@ikeme.test esp_proposals=aes128gcm16
  ikeme_start right right || true
  charon_side left left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" \
    left@ikeme.test right@ikeme.test esp_proposals=aes128gcm16 rekey_time=5s child_rekey_time=1h extra_conn="    over_time = 20s
    rand_time = 1s" || true
  A_KIND=charon A_NAME=left B_KIND=ikeme B_NAME=right
  charon_swanctl left --initiate --child peer --timeout 10 >/dev/null 2>&1 || true
  if ikeme_wait_sa right peer peer 10 && charon_wait_sa left peer peer 5; then
    check_pass "$tag: SA established"
    old=$(charon_ike_get left peer initiator-spi)
    ping_start 8
    cl=$(charon_log left) il=$(ikeme_log right)
    if ikm_wait_until 8 grep -q 'generating CREATE_CHILD_SA request [0-9]* \[ SA No KE \]' "$cl"; then
      check_pass "$tag: charon sent an IKE SA rekey (CREATE_CHILD_SA [ SA No KE ])"
    else
      check_fail "$tag: charon sent an IKE SA rekey (CREATE_CHILD_SA [ SA No KE ])"
    fi
    check "$tag: ikeme answered NO_ADDITIONAL_SAS" ikm_wait_until 3 grep -Eq \
      'generating CREATE_CHILD_SA response [0-9]+ \[ N\(NO_ADD_SAS\) \]' "$il"
    # What charon does next (recorded in the report): its log lines after the response.
    echo "---- charon's log around the IKE rekey ----"
    grep -E 'CREATE_CHILD_SA|rekey|reauth|IKE_SA peer\[[0-9]+\] (established|state)|deleting IKE_SA|CHILD_SA peer\{[0-9]+\} established|closing CHILD_SA' "$cl" | cut -d' ' -f2- | head -30 || true
    echo "----"
    if ikm_wait_until 8 bash -c "[[ -n \"\$(grep -E 'reauthenticat' '$cl')\" ]]"; then
      check_pass "$tag: charon started reauthentication"
    else
      check_fail "$tag: charon started reauthentication"
    fi
    if ikm_wait_until 8 ike_replaced "$old"; then
      check_pass "$tag: one new IKE SA on both sides after charon's reaction"
    else
      check_fail "$tag: one new IKE SA on both sides after charon's reaction" \
        "ikeme: $(side_ike ikeme right | tr '\n' ';') charon: $(side_ike charon left | tr '\n' ';')"
    fi
    # charon's reauthentication is break-before-make: the old CHILD_SA goes before the new one
    # is up, a gap of a few ms here; allow a second's worth of echoes.
    ping_finish "$tag" "$(per_interval 1)"
    check "$tag: ping through the tunnel afterwards" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
    check "$tag: ikeme alive" side_alive ikeme right
    check "$tag: charon alive" side_alive charon left
  else
    setup_failed "$tag" ikeme:right charon:left
  fi
  close_case "$tag" ikeme:right charon:left
fi

check_summary
