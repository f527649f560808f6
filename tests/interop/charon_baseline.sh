#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# charon <-> charon baseline: proves the namespace/charon harness before ikeme's own daemon
# replaces one side. For every case: fresh topology, fresh charons, PSK auth, left initiates;
# then checks (each printed as PASS/FAIL):
#   - both IKE SAs ESTABLISHED with identical SPIs, CHILD_SAs INSTALLED with crossed SPIs
#     (left in == right out and vice versa), negotiated algorithms as proposed;
#   - IKE and ESP on port 4500 (kernel-libipsec always UDP-encapsulates, so it fakes NAT-D), and
#     behind the NAT: left detects its own NAT (nat-local), right sees the NAT's public address
#     (and a mapped port from the range in the port-range case);
#   - ICMP echo both ways through the tunnel (kernel-libipsec TUN), ESP counters moving;
#   - a CHILD_SA rekey (exercises the ESP proposal's DH group): new SPIs, still crossed, pings.
# Cases: direct x 3 proposal sets, NAT (masquerade) x 3, NAT with UDP port range 1100-1200 x 1.
# Exit 0 only if every check passed. Needs root; cleans up all namespaces/processes on exit.
#
# usage: tests/interop/charon_baseline.sh [CASE_FILTER]   (substring match on case names)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/charon.sh
source "$HERE/lib/charon.sh"
# shellcheck source=lib/topo.sh
source "$HERE/lib/topo.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

FILTER=${1:-}
PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"   # fresh per run; test material only

# name | IKE proposal | ESP proposal | expected IKE encr keysize integ prf dh | expected ESP encr keysize integ dh
# ("-" = attribute absent, e.g. no separate integrity algorithm with AES-GCM)
PROPOSALS=(
  "aes128-sha256-x25519|aes128-sha256-x25519|aes128gcm128-x25519|AES_CBC 128 HMAC_SHA2_256_128 PRF_HMAC_SHA2_256 CURVE_25519|AES_GCM_16 128 - CURVE_25519"
  "aes256gcm16-prfsha384-ecp384|aes256gcm16-prfsha384-ecp384|aes256gcm16-ecp384|AES_GCM_16 256 - PRF_HMAC_SHA2_384 ECP_384|AES_GCM_16 256 - ECP_384"
  "aes256-sha512-modp3072|aes256-sha512-modp3072|aes256-sha512-modp3072|AES_CBC 256 HMAC_SHA2_512_256 PRF_HMAC_SHA2_512 MODP_3072|AES_CBC 256 HMAC_SHA2_512_256 MODP_3072"
)

# or_dash VALUE: "-" for an empty value (absent attribute)
or_dash() { echo "${1:--}"; }

# run_case TOPOLOGY PROPOSAL_ENTRY
#   TOPOLOGY: direct | nat | natports
run_case() {
  local topo=$1 entry=$2 name ike esp exp_ike exp_esp tag
  IFS='|' read -r name ike esp exp_ike exp_esp <<<"$entry"
  tag="[$topo/$name]"
  if [[ -n "$FILTER" && "$tag" != *"$FILTER"* ]]; then
    return 0
  fi
  echo "=== case $tag"
  local failed_before=$IKM_CHECKS_FAILED
  case "$topo" in
    direct) topo_direct ;;
    nat) topo_nat ;;
    natports) topo_nat 1100-1200 ;;
  esac

  # Right is the responder: it accepts the initiator from any address (it is behind a NAT in
  # two topologies), exactly as it will accept ikeme's daemon later.
  local cl="$IKM_RUN_DIR/conf-left" cr="$IKM_RUN_DIR/conf-right"
  charon_conf_psk_peer "$cl" local_addrs="$TOPO_LEFT_ADDR" remote_addrs="$TOPO_RIGHT_ADDR" \
    local_id=left@ikeme.test remote_id=right@ikeme.test psk="$PSK" \
    proposals="$ike" esp_proposals="$esp" local_ts="$TOPO_LEFT_TS" remote_ts="$TOPO_RIGHT_TS"
  charon_conf_psk_peer "$cr" local_addrs="$TOPO_RIGHT_ADDR" remote_addrs=%any \
    local_id=right@ikeme.test remote_id=left@ikeme.test psk="$PSK" \
    proposals="$ike" esp_proposals="$esp" local_ts="$TOPO_RIGHT_TS" remote_ts="$TOPO_LEFT_TS"

  charon_start left left "$cl"
  charon_start right right "$cr"
  check "$tag charon left ready" charon_wait_ready left 10
  check "$tag charon right ready" charon_wait_ready right 10
  check "$tag left config loaded" charon_load left
  check "$tag right config loaded" charon_load right

  local t0 t1
  t0=$(ikm_now_ms)
  check "$tag left initiates peer (swanctl --initiate)" \
    charon_swanctl left --initiate --child peer --timeout 10
  t1=$(ikm_now_ms)
  echo "    initiate returned after $((t1 - t0)) ms"
  check "$tag right sees the SAs up" charon_wait_sa right peer peer 5
  if ! charon__sa_up left peer peer || ! charon__sa_up right peer peer; then
    # Nothing below can hold without the SAs; one FAIL above is enough, keep the output readable.
    check_fail "$tag SAs not up, remaining checks of this case skipped"
    end_case "$failed_before"
    return 0
  fi

  # --- IKE SA
  local side
  for side in left right; do
    check_eq "$tag $side IKE SA state" ESTABLISHED "$(charon_ike_get "$side" peer state)"
  done
  local l_ispi l_rspi
  l_ispi=$(charon_ike_get left peer initiator-spi)
  l_rspi=$(charon_ike_get left peer responder-spi)
  check_nonempty "$tag left IKE SPIs" "$l_ispi/$(or_dash "$l_rspi")"
  check_eq "$tag IKE initiator SPI matches on right" "$l_ispi" "$(charon_ike_get right peer initiator-spi)"
  check_eq "$tag IKE responder SPI matches on right" "$l_rspi" "$(charon_ike_get right peer responder-spi)"
  check_eq "$tag left is initiator" yes "$(charon_ike_get left peer initiator)"

  local e_encr e_ks e_integ e_prf e_dh c_encr c_ks c_integ c_dh
  read -r e_encr e_ks e_integ e_prf e_dh <<<"$exp_ike"
  read -r c_encr c_ks c_integ c_dh <<<"$exp_esp"
  for side in left right; do
    check_eq "$tag $side IKE algorithms" "$e_encr/$e_ks/$e_integ/$e_prf/$e_dh" \
      "$(charon_ike_get "$side" peer encr-alg)/$(charon_ike_get "$side" peer encr-keysize)/$(or_dash "$(charon_ike_get "$side" peer integ-alg)")/$(charon_ike_get "$side" peer prf-alg)/$(charon_ike_get "$side" peer dh-group)"
  done

  # --- CHILD_SA
  local l_in l_out r_in r_out
  l_in=$(charon_child_get left peer peer spi-in)
  l_out=$(charon_child_get left peer peer spi-out)
  r_in=$(charon_child_get right peer peer spi-in)
  r_out=$(charon_child_get right peer peer spi-out)
  check_nonempty "$tag left CHILD_SA INSTALLED (spi in/out)" "${l_in:+$l_in/$l_out}"
  check_nonempty "$tag right CHILD_SA INSTALLED (spi in/out)" "${r_in:+$r_in/$r_out}"
  check_eq "$tag ESP SPI left->right (left out = right in)" "$l_out" "$r_in"
  check_eq "$tag ESP SPI right->left (right out = left in)" "$r_out" "$l_in"
  for side in left right; do
    check_eq "$tag $side ESP algorithms" "$c_encr/$c_ks/$c_integ" \
      "$(charon_child_get "$side" peer peer encr-alg)/$(charon_child_get "$side" peer peer encr-keysize)/$(or_dash "$(charon_child_get "$side" peer peer integ-alg)")"
    check_eq "$tag $side ESP is UDP-encapsulated" yes "$(charon_child_get "$side" peer peer encap)"
    check_eq "$tag $side traffic selectors" \
      "$([[ $side == left ]] && echo "$TOPO_LEFT_TS>$TOPO_RIGHT_TS" || echo "$TOPO_RIGHT_TS>$TOPO_LEFT_TS")" \
      "$(charon_child_get "$side" peer peer local-ts)>$(charon_child_get "$side" peer peer remote-ts)"
  done

  # --- ports and NAT
  for side in left right; do
    check_eq "$tag $side IKE local port is NAT-T 4500" 4500 "$(charon_ike_get "$side" peer local-port)"
  done
  check_eq "$tag right sees left at" "$TOPO_LEFT_SEEN_AS" "$(charon_ike_get right peer remote-host)"
  local r_rport
  r_rport=$(charon_ike_get right peer remote-port)
  case "$topo" in
    direct)
      check_eq "$tag left detects no NAT of its own (nat-local)" "-" "$(or_dash "$(charon_ike_get left peer nat-local)")"
      check_eq "$tag right sees left's port 4500 unchanged" 4500 "$r_rport"
      ;;
    nat)
      check_eq "$tag left detects its NAT (nat-local)" yes "$(charon_ike_get left peer nat-local)"
      check_eq "$tag right sees left's port 4500 (masquerade keeps free ports)" 4500 "$r_rport"
      ;;
    natports)
      check_eq "$tag left detects its NAT (nat-local)" yes "$(charon_ike_get left peer nat-local)"
      if [[ "$r_rport" =~ ^[0-9]+$ ]] && ((r_rport >= 1100 && r_rport <= 1200)); then
        check_pass "$tag right sees left's 4500 mapped into 1100-1200 [$r_rport]"
      else
        check_fail "$tag right sees left's 4500 mapped into 1100-1200" "got '$r_rport'"
      fi
      ;;
  esac
  # IKE_SA_INIT arrives on 500, IKE_AUTH after the float on 4500 (right's log, [NET] level 1).
  local rlog
  rlog=$(charon_log right)
  check "$tag right got IKE_SA_INIT on port 500" \
    grep -q "received packet: from $TOPO_LEFT_SEEN_AS\[[0-9]*\] to $TOPO_RIGHT_ADDR\[500\]" "$rlog"
  check "$tag right got IKE_AUTH on port 4500 (NAT-T float)" \
    grep -q "received packet: from $TOPO_LEFT_SEEN_AS\[[0-9]*\] to $TOPO_RIGHT_ADDR\[4500\]" "$rlog"
  # The human-readable listing shows the same; keep it in the log for the reader.
  charon_swanctl left --list-sas | sed -n '1,3s/^/    /p'

  # --- traffic through the tunnel
  check "$tag ping left->right through tunnel" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
  check "$tag ping right->left through tunnel" netns_ping right "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" 3
  local pkts
  pkts=$(charon_child_get left peer peer packets-out)
  if [[ "$pkts" =~ ^[0-9]+$ ]] && ((pkts >= 6)); then
    check_pass "$tag left ESP packets out >= 6 [$pkts]"
  else
    check_fail "$tag left ESP packets out >= 6" "got '$pkts'"
  fi
  pkts=$(charon_child_get right peer peer packets-in)
  if [[ "$pkts" =~ ^[0-9]+$ ]] && ((pkts >= 6)); then
    check_pass "$tag right ESP packets in >= 6 [$pkts]"
  else
    check_fail "$tag right ESP packets in >= 6" "got '$pkts'"
  fi

  # --- CHILD_SA rekey (CREATE_CHILD_SA with the ESP proposal's KE group)
  check "$tag left rekeys the CHILD_SA" charon_swanctl left --rekey --child peer
  if ikm_wait_until 5 rekeyed "$l_in"; then
    check_pass "$tag new CHILD_SA on both sides"
  else
    check_fail "$tag new CHILD_SA on both sides"
  fi
  local n_in n_out
  n_in=$(charon_child_get left peer peer spi-in)
  n_out=$(charon_child_get left peer peer spi-out)
  check_ne "$tag rekeyed inbound SPI differs" "$l_in" "$n_in"
  check_eq "$tag rekeyed SPIs crossed (left in = right out)" "$n_in" "$(charon_child_get right peer peer spi-out)"
  check_eq "$tag rekeyed SPIs crossed (left out = right in)" "$n_out" "$(charon_child_get right peer peer spi-in)"
  check_eq "$tag rekey used ESP KE group" "$c_dh" "$(charon_child_get left peer peer dh-group)"
  check "$tag ping left->right after rekey" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 2

  end_case "$failed_before"
}

# end_case FAILED_BEFORE: log tails if this case failed anything, then tear the case down.
end_case() {
  if ((IKM_CHECKS_FAILED > $1)); then
    charon_dump_logs left 30
    charon_dump_logs right 30
  fi
  charon_stop left
  charon_stop right
  topo_destroy
}

# rekeyed OLD_LEFT_SPI_IN: left has a different INSTALLED child whose SPIs right mirrors.
rekeyed() {
  local n_in
  n_in=$(charon_child_get left peer peer spi-in)
  [[ -n "$n_in" && "$n_in" != "$1" && "$(charon_child_get right peer peer spi-out)" == "$n_in" ]]
}

START=$(ikm_now_ms)
echo "charon_baseline: run prefix $IKM_PREFIX, strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null || echo '?')"
for entry in "${PROPOSALS[@]}"; do
  run_case direct "$entry"
done
for entry in "${PROPOSALS[@]}"; do
  run_case nat "$entry"
done
run_case natports "${PROPOSALS[0]}"
echo "charon_baseline: $(($(ikm_now_ms) - START)) ms"
check_summary || exit 1
