# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034  # TOPO_* variables are the interface to the calling test
# Ready-made two-peer topologies. Each builder creates fresh namespaces (fresh conntrack state
# too, so NAT mappings never leak from one test case into the next) and exports the addresses a
# test needs in TOPO_* variables. topo_destroy removes them again (the global cleanup would too).
#
#   topo_direct:  left 192.0.2.1/24 ------------------------------- right 192.0.2.2/24
#   topo_nat [PORT_RANGE [random-fully]]:
#                 left 10.10.1.2/24 -- 10.10.1.1 nat 198.51.100.1 -- right 198.51.100.2/24
#                 (nftables masquerade on nat's outside interface; with PORT_RANGE, UDP is
#                  mapped into that source-port range like the capture's NATs)
# Both: left owns 10.1.0.10/32 and right 10.2.0.10/32 on lo (inner addresses for the traffic
# selectors, as kernel-libipsec requires an owned address inside the local TS).
#
# Exported: TOPO_NAMESPACES (short names), TOPO_LEFT_ADDR, TOPO_RIGHT_ADDR (outer addresses),
# TOPO_LEFT_SEEN_AS (left's address as right sees it), TOPO_LEFT_INNER, TOPO_RIGHT_INNER,
# TOPO_LEFT_TS, TOPO_RIGHT_TS (/32 traffic selectors).

# shellcheck source=./netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

TOPO_NAMESPACES=()

topo__inner() {
  TOPO_LEFT_INNER=10.1.0.10
  TOPO_RIGHT_INNER=10.2.0.10
  TOPO_LEFT_TS=$TOPO_LEFT_INNER/32
  TOPO_RIGHT_TS=$TOPO_RIGHT_INNER/32
  netns_addr left "$TOPO_LEFT_TS"
  netns_addr right "$TOPO_RIGHT_TS"
}

topo_direct() {
  TOPO_NAMESPACES=(left right)
  netns_create left
  netns_create right
  netns_link left right 192.0.2.1/24 192.0.2.2/24
  TOPO_LEFT_ADDR=192.0.2.1
  TOPO_RIGHT_ADDR=192.0.2.2
  TOPO_LEFT_SEEN_AS=192.0.2.1
  topo__inner
}

topo_nat() {
  TOPO_NAMESPACES=(left nat right)
  netns_create left
  netns_create nat
  netns_create right
  netns_link left nat 10.10.1.2/24 10.10.1.1/24
  netns_link nat right 198.51.100.1/24 198.51.100.2/24
  netns_route left default 10.10.1.1
  # right gets no route back to 10.10.1.0/24: it can only answer the NAT's public address.
  netns_nat nat "$(netns_ifname nat right)" "$@"
  TOPO_LEFT_ADDR=10.10.1.2
  TOPO_RIGHT_ADDR=198.51.100.2
  TOPO_LEFT_SEEN_AS=198.51.100.1
  topo__inner
}

topo_destroy() {
  local n
  for n in "${TOPO_NAMESPACES[@]}"; do
    netns_destroy "$n"
  done
  TOPO_NAMESPACES=()
}
