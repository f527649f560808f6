#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The firewall option (`firewall: yes`) with the userspace ESP data plane, on topo_direct (left
# 192.0.2.1, right 192.0.2.2; inner 10.1.0.10 === 10.2.0.10). Two ikeme-peers with
# esp_backend: userspace; right (the responder) has `firewall: yes` and, in its namespace, a
# default-drop ruleset of its own (table inet ikmtest: input/forward policy drop, IKE/ESP UDP,
# lo and established flows admitted). Checks (PASS/FAIL lines):
#   - right's table inet ikeme: base chains matching iifname/oifname of its TUN device, and per
#     CHILD_SA the chains child_<id>_in (10.1.0.10 -> 10.2.0.10) and child_<id>_out
#   - nftables semantics the docs state: ikeme's `accept` is not final for other tables, so
#     left -> right pings are dropped until the own ruleset admits the tunnel device; then they
#     pass and the per-CHILD_SA rule counters rise both ways
#   - the chains go when the CHILD_SA is deleted (terminate) and come back with the next one
#   - SIGTERM removes the table; after SIGKILL it stays, and a restart replaces it (firewall:
#     yes) or removes it (firewall: no), logging that a previous run left it behind
#   - without the nft command (PATH without it) the daemon refuses to start with a clear error
#
# usage: tests/interop/userspace_firewall.sh [IKEME_PEER [IKEMECTL]]
# Needs root (fails, does not skip, without it). Exit 0 only if every check passed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# shellcheck source=lib/preflight.sh
source "$HERE/lib/preflight.sh"
ikm_preflight "network namespaces, TUN devices" ip nft /usr/bin/python3 /dev/net/tun

# shellcheck source=lib/ikeme.sh
source "$HERE/lib/ikeme.sh"
# shellcheck source=lib/topo.sh
source "$HERE/lib/topo.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

PEER_ARG=${1:-$ROOT/build/release/peer/ikeme-peer}
CTL_ARG=${2:-$ROOT/build/release/peer/ctl/ikemectl}
PSK="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

echo "userspace_firewall: run prefix $IKM_PREFIX"
ikeme_use_binaries "$PEER_ARG" "$CTL_ARG" 60 || pre_fail "cannot use $PEER_ARG / $CTL_ARG"

tag="[userspace-firewall]"
topo_direct

# side NAME LOCAL REMOTE LTS RTS ID PEER_ID FIREWALL
side() {
  ikeme_conf_psk_peer "$1" local_addrs="$2" remote_addrs="$3" local_id="$6" remote_id="$7" \
    psk="$PSK" local_ts="$4" remote_ts="$5" extra_daemon="  esp_backend: userspace
  tun_name: ikm$1
  firewall: $8"
}
side left "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_TS" "$TOPO_RIGHT_TS" left@ikeme.test right@ikeme.test no
side right "$TOPO_RIGHT_ADDR" "$TOPO_LEFT_ADDR" "$TOPO_RIGHT_TS" "$TOPO_LEFT_TS" right@ikeme.test left@ikeme.test yes

# right's own default-drop ruleset (not ikeme's table).
nsx right nft -f - <<'NFT'
table inet ikmtest {
  chain input {
    type filter hook input priority filter; policy drop;
    iif lo accept
    ct state established,related accept
    udp dport { 500, 4500 } accept
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
  }
}
NFT

fw() { nsx right nft list table inet ikeme 2>/dev/null; }
# child_chain DIR: the name of the (first) per-CHILD_SA chain of direction in|out, or nothing
child_chain() { { fw | grep -Eo "chain child_[0-9]+_$1" | head -1 | cut -d' ' -f2; } || true; }
# rule_packets CHAIN: the packet counter of the chain's rule
rule_packets() { { nsx right nft list chain inet ikeme "$1" | grep -Eo 'counter packets [0-9]+' | awk '{ print $3 }' | head -1; } || true; }
established() { ikeme_wait_sa left peer peer 10 && ikeme_wait_sa right peer peer 5; }
initiate() {
  ikeme_ctl left initiate --ike peer --timeout 10 >/dev/null 2>&1 || true
  established
}

ikeme_start right right && ikeme_start left left || true
check "$tag: right logged the firewall table" grep -q "firewall: nftables table inet ikeme ready: traffic crossing ikmright goes through per-CHILD_SA chains" "$(ikeme_log right)"
check "$tag: no table in left's namespace (firewall: no)" bash -c "! ip netns exec '$(ns left)' nft list table inet ikeme"
if initiate; then
  check_pass "$tag: SA established"
  in_chain=$(child_chain in)
  out_chain=$(child_chain out)
  check_nonempty "$tag: a child_<id>_in chain ($in_chain)" "$in_chain"
  check_nonempty "$tag: a child_<id>_out chain ($out_chain)" "$out_chain"
  check "$tag: input jumps to children_in for iifname ikmright" bash -c "ip netns exec '$(ns right)' nft list chain inet ikeme input | grep -q 'iifname \"ikmright\" jump children_in'"
  check "$tag: forward matches both directions" bash -c "ip netns exec '$(ns right)' nft list chain inet ikeme forward | grep -q 'oifname \"ikmright\" jump children_out'"
  check "$tag: children_in jumps to $in_chain" bash -c "ip netns exec '$(ns right)' nft list chain inet ikeme children_in | grep -q 'jump $in_chain'"
  check "$tag: $in_chain admits 10.1.0.10 -> 10.2.0.10" bash -c "ip netns exec '$(ns right)' nft list chain inet ikeme '$in_chain' | grep -q 'ip saddr 10.1.0.10 ip daddr 10.2.0.10 counter packets [0-9]* bytes [0-9]* accept'"
  check "$tag: $out_chain admits 10.2.0.10 -> 10.1.0.10" bash -c "ip netns exec '$(ns right)' nft list chain inet ikeme '$out_chain' | grep -q 'ip saddr 10.2.0.10 ip daddr 10.1.0.10 counter'"
  check "$tag: right logged the CHILD_SA's chains" grep -q "firewall: added chains $in_chain/$out_chain admitting 10.1.0.10/32 -> 10.2.0.10/32" "$(ikeme_log right)"
  # nftables: an accept in ikeme's table is not final, the own table's drop policy still applies.
  check "$tag: own default-drop ruleset still drops left -> right (accept is per table)" bash -c "! ip netns exec '$(ns left)' /usr/bin/python3 '$IKM_LIB_DIR/icmp_ping.py' $TOPO_LEFT_INNER $TOPO_RIGHT_INNER 2"
  # The recipe in docs/operations.md: admit the tunnel device in the own ruleset.
  nsx right nft add rule inet ikmtest input iifname '"ikmright"' accept
  nsx right nft add rule inet ikmtest forward iifname '"ikmright"' accept
  in_before=$(rule_packets "$in_chain")
  out_before=$(rule_packets "$out_chain")
  check "$tag: ping left -> right through the tunnel once admitted" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
  check "$tag: ping right -> left through the tunnel" netns_ping right "$TOPO_RIGHT_INNER" "$TOPO_LEFT_INNER" 3
  in_after=$(rule_packets "$in_chain")
  out_after=$(rule_packets "$out_chain")
  check "$tag: $in_chain counter rose by >= 6 ($in_before -> $in_after)" test "${in_after:-0}" -ge $((${in_before:-0} + 6))
  check "$tag: $out_chain counter rose by >= 6 ($out_before -> $out_after)" test "${out_after:-0}" -ge $((${out_before:-0} + 6))

  # The CHILD_SA goes: its chains go with it, the table stays.
  ikeme_ctl left terminate --ike peer --timeout 5 >/dev/null 2>&1 || true
  ikeme_wait_no_sa right 5 || true
  check "$tag: $in_chain removed with the CHILD_SA" bash -c "! ip netns exec '$(ns right)' nft list table inet ikeme | grep -q '$in_chain'"
  check "$tag: children_in jumps nowhere any more" bash -c "! ip netns exec '$(ns right)' nft list chain inet ikeme children_in | grep -q jump"
  check "$tag: right logged the removal" grep -q "firewall: removed chains $in_chain/$out_chain of CHILD_SA" "$(ikeme_log right)"
  if initiate; then
    second=$(child_chain in)
    check "$tag: the next CHILD_SA gets its own chain ($in_chain -> $second)" test -n "$second" -a "$second" != "$in_chain"
    check "$tag: ping left -> right over the next CHILD_SA" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
  else
    check_fail "$tag: SA re-established"
  fi

  # SIGTERM: the table goes.
  ikeme_signal_wait right TERM
  check_eq "$tag: right exits 0 on SIGTERM" 0 "$IKEME_EXIT"
  check "$tag: table inet ikeme removed on exit" bash -c "! ip netns exec '$(ns right)' nft list table inet ikeme"
  check "$tag: right logged the table's removal" grep -q "firewall: removed nftables table inet ikeme" "$(ikeme_log right)"

  # SIGKILL: the table stays; the restart replaces it.
  ikeme_start right right || true
  ikeme_ctl left terminate --ike peer --timeout 5 >/dev/null 2>&1 || true
  ikeme_wait_no_sa left 5 || true
  initiate || true
  stale=$(child_chain in)
  check_nonempty "$tag: a CHILD_SA chain after the restart ($stale)" "$stale"
  ikeme_signal_wait right KILL
  check "$tag: after SIGKILL the stale $stale stays" bash -c "ip netns exec '$(ns right)' nft list table inet ikeme | grep -q 'chain $stale'"
  ikeme_start right right || true
  check "$tag: restart logged the stale table" grep -q "firewall: nftables table inet ikeme ready (replacing the one a previous run left behind)" "$(ikeme_log right)"
  check "$tag: the stale $stale is gone" bash -c "! ip netns exec '$(ns right)' nft list table inet ikeme | grep -q 'chain $stale'"
  check "$tag: the new table has no stale jumps" bash -c "! ip netns exec '$(ns right)' nft list chain inet ikeme children_in | grep -q jump"
  ikeme_ctl left terminate --ike peer --timeout 5 >/dev/null 2>&1 || true
  ikeme_wait_no_sa left 5 || true
  if initiate; then
    check "$tag: ping left -> right after the restart" netns_ping left "$TOPO_LEFT_INNER" "$TOPO_RIGHT_INNER" 3
    check_nonempty "$tag: chains for the new CHILD_SA" "$(child_chain in)"
  else
    check_fail "$tag: SA re-established after the restart"
  fi
  # SIGKILL, then a restart with the option off removes the stale table.
  ikeme_signal_wait right KILL
  check "$tag: after SIGKILL the table stays" bash -c "ip netns exec '$(ns right)' nft list table inet ikeme"
  sed -i 's/^  firewall: yes$/  firewall: no/' "$(ikeme_dir right)/peer.yaml"
  ikeme_start right right || true
  check "$tag: restart with firewall: no logged the stale table's removal" grep -q "firewall: removed the nftables table inet ikeme a previous run left behind" "$(ikeme_log right)"
  check "$tag: restart with firewall: no removed the stale table" bash -c "! ip netns exec '$(ns right)' nft list table inet ikeme"
  ikeme_signal_wait right TERM

  # No nft command: a clear error, no crash.
  sed -i 's/^  firewall: no$/  firewall: yes/' "$(ikeme_dir right)/peer.yaml"
  out="$IKM_RUN_DIR/no-nft.out"
  rc=0
  nsx right timeout 10 env PATH=/nonexistent "$IKEME_PEER" --config "$(ikeme_dir right)/peer.yaml" --foreground >"$out" 2>&1 || rc=$?
  check "$tag: without nft the daemon refuses to start (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 124
  echo "  (the daemon said: $(grep -h -m1 -o 'ESP data plane: .*' "$out" || true))"
  check "$tag: ... saying that nft is missing" grep -q "the nft command was not found in PATH (firewall: yes needs nftables installed)" "$out" "$(ikeme_log right)"
  check "$tag: ... and leaving no TUN device" bash -c "! ip -n '$(ns right)' link show ikmright"
else
  check_fail "$tag: SA established"
  ikeme_dump_logs left
  ikeme_dump_logs right
fi
ikeme_stop left
ikeme_stop right
topo_destroy
check_summary
