# shellcheck shell=bash source-path=SCRIPTDIR
# Network-namespace topology helpers for ikeme's interop tests and benchmarks.
#
# Source this file from a `set -euo pipefail` bash script. Sourcing it:
#   - picks a run prefix IKM_PREFIX ("ikm" + 4 random hex digits) so parallel runs never collide;
#     every namespace is called "$IKM_PREFIX-<short name>" (e.g. ikm3f9a-left);
#   - creates a per-run scratch directory IKM_RUN_DIR (logs, configs, sockets);
#   - installs EXIT/INT/TERM/HUP traps that tear down everything the run created.
# Do not set your own EXIT trap after sourcing; register extra teardown with ikm_on_cleanup.
#
# Rules this library enforces for the machine: only namespaces it creates are touched; veth pairs
# are created directly inside their namespaces (nothing ever appears in the root namespace); no
# process is killed unless this run started it or it runs inside one of this run's namespaces.
#
# Environment knobs:
#   IKM_KEEP_RUN_DIR=1   keep IKM_RUN_DIR (logs) after the run instead of deleting it
#   IKM_TMPBASE=DIR      parent of IKM_RUN_DIR (default /tmp; must not be under /run, because
#                        charon.sh bind-mounts over /run inside each charon's mount namespace)

if [[ -n "${IKM_NETNS_LOADED:-}" ]]; then
  return 0
fi
IKM_NETNS_LOADED=1

IKM_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

IKM_NAMESPACES=()      # full names of namespaces this run created (deleted on cleanup)
IKM_PIDS=()            # pids of background processes this run started (killed on cleanup)
IKM_CLEANUP_CMDS=()    # extra teardown commands, run last-registered-first
IKM_CLEANING=0

ikm_log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
ikm_die() { ikm_log "ERROR: $*"; exit 1; }

# Milliseconds since the epoch (bash 5 EPOCHREALTIME, no fork).
ikm_now_ms() {
  local t=${EPOCHREALTIME/./}
  echo $((t / 1000))
}

# ikm_wait_until TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds; returns 1 on timeout.
ikm_wait_until() {
  local timeout_s=$1
  shift
  local deadline=$(($(ikm_now_ms) + timeout_s * 1000))
  until "$@"; do
    (($(ikm_now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

ikm_on_cleanup() { IKM_CLEANUP_CMDS+=("$*"); }

# Runs once, from the EXIT trap. Never aborts half-way: every step tolerates failure.
ikm_cleanup() {
  local rc=$?
  ((IKM_CLEANING)) && return 0
  IKM_CLEANING=1
  set +e
  trap - INT TERM HUP ERR
  local i pid ns
  for ((i = ${#IKM_CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
    eval "${IKM_CLEANUP_CMDS[i]}" 2>/dev/null
  done
  # Our own background processes: TERM, a short grace period, then KILL.
  for pid in "${IKM_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${IKM_PIDS[@]}"; do
    ikm__reap "$pid" 30
  done
  # Anything still running inside our namespaces (e.g. a ping helper) was started by this run.
  for ns in "${IKM_NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null
    done
  done
  # Deleting a namespace removes its veths and TUN devices with it.
  for ns in "${IKM_NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null
  done
  if [[ -n "${IKM_RUN_DIR:-}" && -d "$IKM_RUN_DIR" ]]; then
    if [[ "${IKM_KEEP_RUN_DIR:-0}" == 1 ]]; then
      ikm_log "kept run directory $IKM_RUN_DIR"
    else
      rm -rf "$IKM_RUN_DIR"
    fi
  fi
  return "$rc"
}

# ikm__reap PID TENTHS: waits up to TENTHS/10 s for PID to exit, then SIGKILLs it.
ikm__reap() {
  local pid=$1 tenths=$2 n
  for ((n = 0; n < tenths; n++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

ikm__init() {
  [[ $EUID -eq 0 ]] || ikm_die "network namespace tests must run as root"
  local base=${IKM_TMPBASE:-/tmp} tries=0
  [[ "$base" != /run* && "$base" != /var/run* ]] || ikm_die "IKM_TMPBASE must not be under /run"
  # A prefix that no existing namespace uses, so two runs (or a leftover) can never collide.
  while :; do
    IKM_PREFIX="ikm$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"
    ip netns list | grep -q "^${IKM_PREFIX}-" || break
    ((++tries < 20)) || ikm_die "cannot find a free namespace prefix"
  done
  IKM_RUN_DIR="$(mktemp -d "$base/${IKM_PREFIX}.XXXXXX")"
  # Lets ikm_sweep_stale tell a live run from one that was SIGKILLed (no trap could run).
  echo "$$" >"$IKM_RUN_DIR/owner.pid"
  export IKM_PREFIX IKM_RUN_DIR
  trap ikm_cleanup EXIT
  # set -e exits silently; say which command failed (errtrace: also inside functions).
  set -E
  trap 'ikm_log "command failed (exit $?) at ${BASH_SOURCE[0]}:${LINENO}: ${BASH_COMMAND}"' ERR
  # Signals only set the exit status; the EXIT trap does the teardown exactly once.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# ns SHORT: prints the full namespace name for a short name (a full name passes through).
ns() {
  if [[ "$1" == "$IKM_PREFIX"-* ]]; then
    echo "$1"
  else
    echo "$IKM_PREFIX-$1"
  fi
}

# nsx SHORT CMD...: runs CMD inside the namespace.
nsx() {
  local n
  n=$(ns "$1")
  shift
  ip netns exec "$n" "$@"
}

# netns_create SHORT: new namespace with lo up. Short names: [a-z0-9], at most 12 characters
# (interface names derived from them must fit IFNAMSIZ).
netns_create() {
  local short=$1 full
  [[ "$short" =~ ^[a-z0-9]{1,12}$ ]] || ikm_die "bad namespace short name '$short'"
  full=$(ns "$short")
  ip netns add "$full"
  IKM_NAMESPACES+=("$full")
  ip -n "$full" link set lo up
}

# netns_destroy SHORT: kills whatever runs in the namespace and deletes it (for per-case
# topologies; everything left is still removed by the global cleanup).
netns_destroy() {
  local full pid i
  full=$(ns "$1")
  for pid in $(ip netns pids "$full" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  ip netns del "$full" 2>/dev/null || true
  for i in "${!IKM_NAMESPACES[@]}"; do
    if [[ "${IKM_NAMESPACES[i]}" == "$full" ]]; then unset 'IKM_NAMESPACES[i]'; fi
  done
  IKM_NAMESPACES=("${IKM_NAMESPACES[@]}")
}

# netns_ifname A B: name of the interface in namespace A that leads to namespace B ("v" + B).
netns_ifname() { echo "v$2"; }

# netns_link A B ADDR_A/PLEN ADDR_B/PLEN: veth pair between A and B, both ends up and addressed.
# The pair is created with each end already inside its namespace.
netns_link() {
  local a=$1 b=$2 addr_a=$3 addr_b=$4 if_a if_b
  if_a=$(netns_ifname "$a" "$b")
  if_b=$(netns_ifname "$b" "$a")
  ip -n "$(ns "$a")" link add "$if_a" type veth peer name "$if_b" netns "$(ns "$b")"
  ip -n "$(ns "$a")" addr add "$addr_a" dev "$if_a"
  ip -n "$(ns "$b")" addr add "$addr_b" dev "$if_b"
  ip -n "$(ns "$a")" link set "$if_a" up
  ip -n "$(ns "$b")" link set "$if_b" up
}

# netns_addr NS ADDR/PLEN [DEV]: extra address (default on lo, e.g. a /32 inside a traffic
# selector: charon's kernel-libipsec only installs a CHILD_SA if the host owns such an address).
netns_addr() {
  ip -n "$(ns "$1")" addr add "$2" dev "${3:-lo}"
}

# netns_route NS DEST VIA: static route (DEST may be "default").
netns_route() {
  ip -n "$(ns "$1")" route replace "$2" via "$3"
}

# netns_forward NS: turns NS into a router.
netns_forward() {
  nsx "$1" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
}

# netns_nat ROUTER OUT_IF [PORT_LO-PORT_HI [random-fully]]: source NAT for everything leaving
# ROUTER through OUT_IF, with nftables masquerade (address of OUT_IF). With a port range, UDP
# sources are mapped into that range (as the capture's NATs did: 1100-1200 / 1200-1300);
# "random-fully" picks a new random port per flow, i.e. a symmetric NAT. Mapping stays
# endpoint-independent otherwise, filtering follows conntrack (port-restricted cone); see
# docs/nat-testbed-notes.md. Also enables forwarding in ROUTER.
netns_nat() {
  local router=$1 out_if=$2 range=${3:-} mode=${4:-} udp_rule=""
  netns_forward "$router"
  if [[ -n "$range" ]]; then
    [[ "$range" =~ ^[0-9]+-[0-9]+$ ]] || ikm_die "bad port range '$range'"
    local flags=""
    [[ "$mode" == random-fully ]] && flags=" fully-random"
    udp_rule="oifname \"$out_if\" meta l4proto udp masquerade to :$range$flags"
  fi
  nsx "$router" nft -f - <<EOF
table ip ikm_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    $udp_rule
    oifname "$out_if" masquerade
  }
}
EOF
}

# netns_spawn NS LOG CMD...: starts CMD in the background inside NS (stdout+stderr to LOG),
# registers it for cleanup and stores its pid in NETNS_SPAWN_PID. This is how a test starts
# any daemon that is not charon (e.g. ikeme-peer) or a helper such as iperf3 -s.
NETNS_SPAWN_PID=
netns_spawn() {
  local n log=$2
  n=$(ns "$1")
  shift 2
  ip netns exec "$n" "$@" >"$log" 2>&1 &
  NETNS_SPAWN_PID=$!
  IKM_PIDS+=("$NETNS_SPAWN_PID")
}

# ikm_stop_pid PID [GRACE_TENTHS]: SIGTERM, wait (default 3 s), SIGKILL; forgets the pid.
ikm_stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  ikm__reap "$pid" "${2:-30}"
  for i in "${!IKM_PIDS[@]}"; do
    if [[ "${IKM_PIDS[i]}" == "$pid" ]]; then unset 'IKM_PIDS[i]'; fi
  done
  IKM_PIDS=("${IKM_PIDS[@]}")
}

# netns_ping NS SRC DST [COUNT]: ICMP echo from SRC to DST inside NS (python raw socket; the
# machine has no ping binary). Succeeds only if every echo is answered within 1 s.
netns_ping() {
  nsx "$1" /usr/bin/python3 "$IKM_LIB_DIR/icmp_ping.py" "$2" "$3" "${4:-3}"
}

# ikm_sweep_stale: removes what earlier runs left behind when they were SIGKILLed (the only way
# to skip the EXIT trap): namespaces named ikmXXXX-* whose run directory is gone or whose owner
# shell is dead, every process inside them, and the stale run directories. Live runs are kept.
ikm_sweep_stale() {
  local base=${IKM_TMPBASE:-/tmp} nsname prefix dir owner pid alive
  for nsname in $(ip netns list | awk '{print $1}' | grep -E '^ikm[0-9a-f]{4}-' || true); do
    prefix=${nsname%%-*}
    [[ "$prefix" == "${IKM_PREFIX:-}" ]] && continue
    alive=0
    for dir in "$base/$prefix".*; do
      [[ -f "$dir/owner.pid" ]] || continue
      owner=$(<"$dir/owner.pid")
      if kill -0 "$owner" 2>/dev/null; then alive=1; fi
    done
    ((alive)) && continue
    ikm_log "sweeping stale namespace $nsname"
    for pid in $(ip netns pids "$nsname" 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$nsname" 2>/dev/null || true
  done
  for dir in "$base"/ikm[0-9a-f][0-9a-f][0-9a-f][0-9a-f].*; do
    [[ -d "$dir" && "$dir" != "${IKM_RUN_DIR:-}" ]] || continue
    if [[ -f "$dir/owner.pid" ]] && kill -0 "$(<"$dir/owner.pid")" 2>/dev/null; then
      continue
    fi
    rm -rf "$dir"
  done
}

ikm__init
