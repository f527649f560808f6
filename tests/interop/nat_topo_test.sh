#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Checks that the double-NAT testbed (lib/nat_topo.sh) behaves as its documentation says, with
# plain UDP probes (lib/udp_probe.py) and no IKE at all: mapping into the port ranges,
# port-restricted filtering and hole punching, the public-segment counter, rebinding, a symmetric
# NAT, a full-cone NAT and two hosts behind the same NAT. Needs root; about 15 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/nat_topo.sh
source "$HERE/lib/nat_topo.sh"
# shellcheck source=lib/check.sh
source "$HERE/lib/check.sh"

PROBE="$IKM_LIB_DIR/udp_probe.py"

# probe NS OUTFILE PORT UNTIL [ARGS...]: a udp_probe.py in the background.
PROBE_PIDS=()
probe() {
  local n=$1 out=$2
  shift 2
  netns_spawn "$n" "$out" /usr/bin/python3 "$PROBE" "$@"
  PROBE_PIDS+=("$NETNS_SPAWN_PID")
}

# next_case: lets every probe run out (they all end on their own), then removes the topology.
next_case() {
  local pid
  for pid in "${PROBE_PIDS[@]}"; do
    wait "$pid" || true
  done
  PROBE_PIDS=()
  nat_topo_destroy
}

# mapped HOST PORT [DEST_PORT]: the public endpoint carol's echo saw for HOST's socket PORT.
mapped() {
  nsx "$1" /usr/bin/python3 "$PROBE" "$2" 0.5 "0:$NAT_CAROL_ADDR:${3:-4500}" |
    awk '/^recv .* seen / { print $NF; exit }'
}

# start_carol_echo LIFETIME_S: carol echoes on 4500 and 4501 (a mediation server's view).
start_carol_echo() {
  probe carol "$IKM_RUN_DIR/carol.out" 4500 "$1" --echo
  probe carol "$IKM_RUN_DIR/carol2.out" 4501 "$1" --echo
  sleep 0.2
}

# count_recv FILE: datagrams a probe received.
count_recv() { grep -c '^recv' "$1" || true; }

in_range() { # in_range ENDPOINT ADDR LO HI
  local addr=${1%:*} port=${1#*:}
  [[ "$addr" == "$2" ]] && ((port >= $3 && port <= $4))
}

# ---- 1. double NAT: mapping, filtering, hole punching, counter
nat_topo
start_carol_echo 8
a=$(mapped alice 4500)
b=$(mapped bob 4500)
check "alice maps into moon's range [$a]" in_range "$a" 192.0.2.1 1100 1200
check "bob maps into sun's range [$b]" in_range "$b" 192.0.2.2 1200 1300
a2=$(mapped alice 4500 4501)
check_eq "endpoint-independent mapping (same port to carol:4501)" "$a" "$a2"
# bob knocks at 0.3 s (dropped: alice never sent to bob), alice punches at 1.0 s, bob again at
# 1.5 s (passes now). alice echoes what she gets.
probe alice "$IKM_RUN_DIR/alice.out" 4500 2.5 --echo "1.0:${b%:*}:${b#*:}"
probe bob "$IKM_RUN_DIR/bob.out" 4500 2.5 "0.3:${a%:*}:${a#*:}" "1.5:${a%:*}:${a#*:}"
sleep 2.8
check_eq "unsolicited datagram filtered, the one after the punch passed" 1 \
  "$(count_recv "$IKM_RUN_DIR/alice.out")"
check "bob got alice's punch from $a" grep -q "^recv ${a%:*} ${a#*:} probe from 4500" "$IKM_RUN_DIR/bob.out"
check "bob got alice's echo of his second datagram" \
  grep -q "^recv ${a%:*} ${a#*:} seen ${b%:*}:${b#*:}" "$IKM_RUN_DIR/bob.out"
# 3 registrations with their echoes, the knock, the punch, the second knock and its echo.
check_eq "public segment counter: every datagram once" 10 "$(nat_public_udp_count)"
nat_public_udp_reset
check_eq "counter reset" 0 "$(nat_public_udp_count)"

# ---- 2. rebinding: a new public port after nat_rebind
nat_rebind moon
a3=$(mapped alice 4500)
check "rebound into moon's other range [$a3]" in_range "$a3" 192.0.2.1 1400 1450
check_ne "rebound to a new port (was $a)" "$a" "$a3"
next_case

# ---- 3. symmetric NAT: a new port per destination
nat_topo symmetric=moon
start_carol_echo 3
s1=$(mapped alice 4500 4500)
s2=$(mapped alice 4500 4501)
check_nonempty "symmetric: mapping towards carol:4500" "$s1"
check_ne "symmetric: another mapping towards carol:4501 (first $s1)" "$s1" "$s2"
next_case

# ---- 4. full-cone NAT: anyone reaches bob's mapped address
nat_topo full-cone=sun
start_carol_echo 3
b=$(mapped bob 4500)
check_eq "full cone keeps the port" 192.0.2.2:4500 "$b"
probe bob "$IKM_RUN_DIR/bob.out" 4500 1.5
probe alice "$IKM_RUN_DIR/alice.out" 4500 1.0 "0.3:192.0.2.2:4500"
sleep 1.7
check "full cone: an unsolicited datagram reached bob" grep -q "^recv 192.0.2.1 " "$IKM_RUN_DIR/bob.out"
next_case

# ---- 5. same NAT, no hairpin: host addresses work, the mapped address does not
nat_topo same-nat
start_carol_echo 3
b=$(mapped bob 4500)
probe bob "$IKM_RUN_DIR/bob.out" 4500 1.5 --echo
probe alice "$IKM_RUN_DIR/alice.out" 4500 1.2 "0.3:$NAT_BOB_ADDR:4500" "0.6:${b%:*}:${b#*:}"
sleep 1.7
check "same NAT: bob's host address reached" grep -q "^recv $NAT_ALICE_ADDR 4500 probe" "$IKM_RUN_DIR/bob.out"
check_eq "same NAT: nothing arrives over the mapped address $b (no hairpinning)" 1 \
  "$(count_recv "$IKM_RUN_DIR/bob.out")"

check_summary
