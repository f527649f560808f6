# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034  # NAT_* variables are the interface to the calling test
# Double-NAT testbed for IKE-ME mediation, the topology of the strongSwan capture in
# tests/data/strongswan-p2p (docs/testing.md, "Double-NAT testbed"):
#
#   alice 10.1.0.10 --[brlan]-- moon 10.1.0.1 | 192.0.2.1 --+
#                                                            +--[inet: br0]-- carol 192.0.2.100
#   bob   10.2.0.10 --[brlan]-- sun  10.2.0.1 | 192.0.2.2 --+                 (mediation server)
#
# moon and sun are NAT routers: nftables masquerade with UDP mapped into 1100-1200 (moon) and
# 1200-1300 (sun), as in the capture. Linux NAT maps endpoint-independently and filters by
# address and port (conntrack), so the double NAT needs real hole punching. The private sites have
# no route to each other: from outside only the NATs' public addresses are reachable. Each site's
# LAN is a bridge inside its router, so a site can hold more than one host. Like a home router,
# a NAT drops unsolicited datagrams to itself before conntrack confirms them: otherwise the
# dropped knock of a peer's first check would leave a conntrack entry whose reply tuple clashes
# with the inside host's own outbound flow to that peer, and the NAT would give that flow a new
# port (observed: the peer then sees a port it never heard of and the punch fails).
#
# nat_topo [OPTION...] builds it (fresh namespaces, so fresh conntrack state). Options:
#   same-nat        bob sits in alice's site behind moon (10.1.0.20); there is no sun. Without
#                   hairpinning, alice and bob reach each other only by their host addresses.
#   full-cone=R     router R (moon or sun) forwards every inbound UDP datagram to its single host
#                   (masquerade without port range + DNAT): endpoint-independent filtering
#   symmetric=R     router R maps each new flow to a random port (fully-random): a symmetric NAT
# nat_rebind R      at any time: flushes R's conntrack state and switches to its other port range
#                   (moon 1400-1450, sun 1500-1550; disjoint from the first, so the next outbound
#                   datagram surely gets another public port: a NAT rebinding)
#
# Counting the public segment: nat_public_udp_count (nftables counter in the inet bridge's
# forward hook: every datagram once); nat_sniff_start FILE records each public UDP datagram with
# a timestamp (udp_sniff.py, no tcpdump). nat_public_loss PCT drops PCT % of them (nft numgen).
#
# Exported: NAT_NAMESPACES (short names), NAT_ALICE_ADDR, NAT_BOB_ADDR, NAT_CAROL_ADDR,
# NAT_MOON_PUBLIC, NAT_SUN_PUBLIC, NAT_ALICE_ROUTER, NAT_BOB_ROUTER (router short names), and
# NAT_ALICE_INNER, NAT_BOB_INNER: the addresses a tunnel between the peers should connect. Across
# the NATs these are the hosts' own addresses (as in the capture); behind the same NAT a tunnel
# between the LAN addresses would have to carry its own IKE traffic (kernel-libipsec refuses such
# a CHILD_SA), so there each host also owns an inner /32 on lo: alice 10.9.1.10, bob 10.9.2.10.

# shellcheck source=./netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

NAT_NAMESPACES=()
declare -A NAT__RANGE=() NAT__ALT=() NAT__MODE=() NAT__HOST=()

# nat__port HOST_NS BRIDGE_NS BRIDGE HOST_ADDR/PLEN: a veth from HOST_NS into BRIDGE_NS's bridge;
# the host end gets the address, the bridge end is enslaved. Both ends are created in place.
nat__port() {
  local host=$1 bns=$2 br=$3 addr=$4 if_h if_b
  if_h=$(netns_ifname "$host" "$bns")
  if_b=$(netns_ifname "$bns" "$host")
  ip -n "$(ns "$host")" link add "$if_h" type veth peer name "$if_b" netns "$(ns "$bns")"
  ip -n "$(ns "$host")" addr add "$addr" dev "$if_h"
  ip -n "$(ns "$bns")" link set "$if_b" master "$br"
  ip -n "$(ns "$host")" link set "$if_h" up
  ip -n "$(ns "$bns")" link set "$if_b" up
}

nat__bridge() {
  ip -n "$(ns "$1")" link add "$2" type bridge
  ip -n "$(ns "$1")" link set "$2" up
}

nat__create() {
  netns_create "$1"
  NAT_NAMESPACES+=("$1")
}

# nat__rules ROUTER: (re)writes ROUTER's nftables NAT table from its mode, range and host.
nat__rules() {
  local r=$1 out=vinet udp prerouting=""
  local mode=${NAT__MODE[$r]} range=${NAT__RANGE[$r]}
  case "$mode" in
    port-restricted) udp="oifname \"$out\" meta l4proto udp masquerade to :$range" ;;
    symmetric) udp="oifname \"$out\" meta l4proto udp masquerade to :$range fully-random" ;;
    full-cone)
      # No port range: the inside port is kept, so the host's SRFLX port is its own.
      udp="oifname \"$out\" meta l4proto udp masquerade"
      prerouting="iifname \"$out\" meta l4proto udp dnat to ${NAT__HOST[$r]}"
      ;;
    *) ikm_die "unknown NAT mode '$mode'" ;;
  esac
  nsx "$r" nft -f - <<NFT
table ip ikm_nat
delete table ip ikm_nat
table ip ikm_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    $prerouting
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    $udp
    oifname "$out" masquerade
  }
}
table ip ikm_fw
delete table ip ikm_fw
table ip ikm_fw {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "$out" ct state new drop
  }
}
NFT
}

# nat__router NAME LAN(10.X.0) PUBLIC RANGE ALT_RANGE MODE HOST
nat__router() {
  local r=$1 lan=$2 public=$3
  nat__create "$r"
  nat__bridge "$r" brlan
  ip -n "$(ns "$r")" addr add "$lan.1/24" dev brlan
  nat__port "$r" inet br0 "$public/24"
  netns_forward "$r"
  NAT__RANGE[$r]=$4
  NAT__ALT[$r]=$5
  NAT__MODE[$r]=$6
  NAT__HOST[$r]=$7
}

# nat__host NAME ROUTER ADDR LAN(10.X.0)
nat__host() {
  nat__create "$1"
  nat__port "$1" "$2" brlan "$3/24"
  netns_route "$1" default "$4.1"
}

nat_topo() {
  local same_nat=0 opt r mode_moon=port-restricted mode_sun=port-restricted
  for opt in "$@"; do
    case "$opt" in
      same-nat) same_nat=1 ;;
      full-cone=* | symmetric=*)
        r=${opt#*=}
        [[ "$r" == moon || "$r" == sun ]] || ikm_die "nat_topo: unknown router '$r'"
        printf -v "mode_$r" '%s' "${opt%%=*}"
        ;;
      *) ikm_die "nat_topo: unknown option '$opt'" ;;
    esac
  done
  NAT_MOON_PUBLIC=192.0.2.1
  NAT_SUN_PUBLIC=192.0.2.2
  NAT_CAROL_ADDR=192.0.2.100
  NAT_ALICE_ADDR=10.1.0.10
  NAT_ALICE_ROUTER=moon
  nat__create inet
  nat__bridge inet br0
  # Bridged frames pass the bridge family's forward hook exactly once.
  nsx inet nft -f - <<'NFT'
table bridge ikm_pub {
  counter public_udp { }
  chain forward {
    type filter hook forward priority 0; policy accept;
    meta l4proto udp counter name "public_udp"
  }
}
NFT
  nat__create carol
  nat__port carol inet br0 "$NAT_CAROL_ADDR/24"
  nat__router moon 10.1.0 "$NAT_MOON_PUBLIC" 1100-1200 1400-1450 "$mode_moon" "$NAT_ALICE_ADDR"
  nat__host alice moon "$NAT_ALICE_ADDR" 10.1.0
  if ((same_nat)); then
    [[ "$mode_sun" == port-restricted ]] || ikm_die "nat_topo: same-nat has no sun"
    [[ "$mode_moon" != full-cone ]] || ikm_die "nat_topo: full-cone needs a single host"
    NAT_BOB_ADDR=10.1.0.20
    NAT_BOB_ROUTER=moon
    nat__host bob moon "$NAT_BOB_ADDR" 10.1.0
    NAT_ALICE_INNER=10.9.1.10
    NAT_BOB_INNER=10.9.2.10
    netns_addr alice "$NAT_ALICE_INNER/32"
    netns_addr bob "$NAT_BOB_INNER/32"
    # Each site's peer routes the other's inner address over the LAN.
    netns_route alice "$NAT_BOB_INNER/32" "$NAT_BOB_ADDR"
    netns_route bob "$NAT_ALICE_INNER/32" "$NAT_ALICE_ADDR"
  else
    NAT_BOB_ADDR=10.2.0.10
    NAT_BOB_ROUTER=sun
    NAT_ALICE_INNER=$NAT_ALICE_ADDR
    NAT_BOB_INNER=$NAT_BOB_ADDR
    nat__router sun 10.2.0 "$NAT_SUN_PUBLIC" 1200-1300 1500-1550 "$mode_sun" "$NAT_BOB_ADDR"
    nat__host bob sun "$NAT_BOB_ADDR" 10.2.0
    nat__rules sun
  fi
  nat__rules moon
}

# nat_rebind ROUTER: forgets every mapping and switches to the other port range. The two ranges
# must not overlap: Linux may otherwise pick the very port it had (seen: sun 1262 -> 1262 with
# ranges 1200-1300 / 1250-1300), and the "rebinding" changes nothing.
nat_rebind() {
  local r=$1 tmp
  [[ -n "${NAT__RANGE[$r]:-}" ]] || ikm_die "nat_rebind: unknown router '$r'"
  tmp=${NAT__RANGE[$r]}
  NAT__RANGE[$r]=${NAT__ALT[$r]}
  NAT__ALT[$r]=$tmp
  nat__rules "$r"
  nsx "$r" /usr/bin/python3 "$IKM_LIB_DIR/ct_flush.py"
}

# nat_public_udp_count: UDP datagrams on the public segment since nat_topo or the last reset.
nat_public_udp_count() {
  nsx inet nft list counter bridge ikm_pub public_udp |
    awk '{ for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

nat_public_udp_reset() {
  nsx inet nft reset counter bridge ikm_pub public_udp >/dev/null
}

# nat_public_loss PCT: from now on, drop PCT % of the UDP datagrams on the public segment.
nat_public_loss() {
  nsx inet nft add rule bridge ikm_pub forward meta l4proto udp numgen random mod 100 '<' "$1" drop
}

# nat_sniff_start FILE: records every public UDP datagram in FILE; returns once it listens.
# The run's cleanup stops it (or: ikm_stop_pid "$NAT_SNIFF_PID").
NAT_SNIFF_PID=
nat_sniff_start() {
  local file=$1
  netns_spawn inet "$file.log" /usr/bin/python3 "$IKM_LIB_DIR/udp_sniff.py" "$file" br0
  NAT_SNIFF_PID=$NETNS_SPAWN_PID
  ikm_wait_until 5 grep -q ready "$file.log" || ikm_die "udp_sniff.py did not start"
}

nat_topo_destroy() {
  local n
  for n in "${NAT_NAMESPACES[@]}"; do
    netns_destroy "$n"
  done
  NAT_NAMESPACES=()
}
