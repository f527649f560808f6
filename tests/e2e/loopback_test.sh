#!/usr/bin/env bash
# End-to-end test of ikeme-peer and ikemectl on loopback, without root or namespaces:
# two daemons on 127.0.0.1 and 127.0.0.2, each with its own control socket, PSK. Both use the
# same (per-run) IKE port P and NAT-T port P+1, as two hosts using 500/4500 would: the engine,
# like strongSwan, starts on its NAT-T port with a non-ESP marker whenever remote_port is not its
# own IKE port. 'home' runs on the IKE ports; 'boot' uses remote_port P+1, so the NAT-T sockets
# carry it.
#   - a start_action=start child comes up at start-up;
#   - `ikemectl initiate` brings up an IKE SA with a CHILD_SA; both sides list it ESTABLISHED
#     with the same IKE SPIs and mirrored CHILD_SA SPIs;
#   - `ikemectl terminate` removes it on both sides;
#   - SIGTERM makes a daemon send DELETEs and exit 0; the peer's list becomes empty;
#   - errors: a daemon that is not running, a bad configuration (file:line), usage errors.
# Usage: loopback_test.sh IKEME_PEER IKEMECTL     (exit 0 pass, 1 fail, 77 skipped)
set -euo pipefail

peer_bin=${1:?usage: loopback_test.sh IKEME_PEER IKEMECTL}
ctl_bin=${2:?usage: loopback_test.sh IKEME_PEER IKEMECTL}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ikeme-e2e.XXXXXX")
pid_a="" pid_b=""
start_time=$SECONDS

cleanup() {
  local rc=$?
  for p in $pid_a $pid_b; do
    if kill -0 "$p" 2>/dev/null; then
      kill -KILL "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  if ((rc != 0 && rc != 77)); then
    for f in "$tmp"/*.log; do
      [[ -f $f ]] && { echo "----- $f"; tail -n 40 "$f"; }
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

step() { echo "[$((SECONDS - start_time))s] $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ctl_a() { "$ctl_bin" --socket "$tmp/a/peer.sock" "$@"; }
ctl_b() { "$ctl_bin" --socket "$tmp/b/peer.sock" "$@"; }
# Extracts the values of a JSON member from compact JSON (one per line).
json_values() { grep -o "\"$1\":\"[^\"]*\"" | sed 's/^[^:]*:"\(.*\)"$/\1/'; }
# The states of the IKE SAs in a list-sas reply (a CHILD_SA's "state" is not followed by
# "initiator").
ike_states() { grep -o '"state":"[A-Z]*","initiator"' | sed 's/^"state":"\([A-Z]*\)".*/\1/'; }

# Waits up to $1 tenths of a second for the command in $2.. to succeed.
wait_for() {
  local tries=$1
  shift
  for ((i = 0; i < tries; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Waits up to 5 s for a daemon (a child of this shell) to exit; sets exit_code.
exit_code=""
wait_exit() {
  local pid=$1
  wait_for 50 eval "! kill -0 $pid 2>/dev/null" || fail "daemon $pid did not exit"
  exit_code=0
  wait "$pid" || exit_code=$?
}

write_config() {  # name address port remote_address local_id remote_id start_action
  local name=$1 addr=$2 port=$3 raddr=$4 lid=$5 rid=$6 start=$7 lnet=1 rnet=2
  [[ $name == a ]] || { lnet=2 rnet=1; }
  cat >"$tmp/$name.yaml" <<YAML
daemon:
  listen: [$addr]
  port: $port
  port_nat_t: $((port + 1))
  control_socket: $tmp/$name/peer.sock
  # No data plane: this test runs in the caller's namespace, without privileges, and must not
  # create TUN devices or routes there (tests/interop/userspace_esp.sh covers the data plane).
  esp_backend: none
  log:
    default: 1
    net: 2
connections:
  home:
    remote_addrs: $raddr
    remote_port: $port
    proposals: aes128gcm16-prfsha256-x25519
    local:
      auth: psk
      id: $lid
    remote:
      auth: psk
      id: $rid
    children:
      net:
        local_ts: 10.$lnet.0.0/16
        remote_ts: 10.$rnet.0.0/16
        esp_proposals: aes128gcm16
  boot:
    remote_addrs: $raddr
    remote_port: $((port + 1))
    proposals: aes256-sha256-x25519
    local:
      auth: psk
      id: boot-$lid
    remote:
      auth: psk
      id: boot-$rid
    children:
      boot:
        esp_proposals: aes256-sha256
        start_action: $start
secrets:
  ike-all:
    id: $lid
    id-2: $rid
    id-3: boot-$lid
    id-4: boot-$rid
    secret: "correct horse battery staple"
YAML
}

# --- start both daemons (on ports chosen per run; again on a clash with another run) ---
started=""
for attempt in 1 2 3; do
  port=$((15000 + (RANDOM % 2000) * 2))
  port_a=$port port_b=$port
  write_config a 127.0.0.1 "$port" 127.0.0.2 moon@example.org sun@example.org none
  write_config b 127.0.0.2 "$port" 127.0.0.1 sun@example.org moon@example.org start
  step "starting daemon a on 127.0.0.1[$port_a/$((port_a + 1))] (attempt $attempt)"
  "$peer_bin" --config "$tmp/a.yaml" --foreground 2>"$tmp/a.log" &
  pid_a=$!
  if ! wait_for 50 test -S "$tmp/a/peer.sock"; then
    kill -0 "$pid_a" 2>/dev/null && fail "daemon a did not create its control socket"
    wait "$pid_a" || true
    pid_a=""
    grep -q "Address already in use" "$tmp/a.log" && continue
    fail "daemon a did not start: $(cat "$tmp/a.log")"
  fi
  step "starting daemon b on 127.0.0.2[$port_b/$((port_b + 1))]"
  "$peer_bin" --config "$tmp/b.yaml" --foreground 2>"$tmp/b.log" &
  pid_b=$!
  if ! wait_for 50 test -S "$tmp/b/peer.sock"; then
    kill -0 "$pid_b" 2>/dev/null && fail "daemon b did not create its control socket"
    wait "$pid_b" || true
    pid_b=""
    if grep -q "Cannot assign requested address" "$tmp/b.log"; then
      echo "SKIP: cannot bind 127.0.0.2 on this host: $(cat "$tmp/b.log")"
      exit 77
    fi
    if grep -q "Address already in use" "$tmp/b.log"; then
      kill -TERM "$pid_a"
      wait "$pid_a" || true
      pid_a=""
      continue
    fi
    fail "daemon b did not start: $(cat "$tmp/b.log")"
  fi
  started=yes
  break
done
[[ -n $started ]] || fail "no free ports after 3 attempts"
[[ $(stat -c %a "$tmp/a/peer.sock") == 600 ]] || fail "control socket mode is not 0600"

# --- start_action=start: b brings up 'boot' by itself ---
step "start_action: waiting for b's 'boot' IKE SA"
boot_up() { ctl_b list-sas --ike boot --json | grep -q '"state":"ESTABLISHED"'; }
wait_for 50 boot_up || fail "start_action=start did not establish 'boot'"
grep -q "start_action: initiating CHILD_SA 'boot' of connection 'boot'" "$tmp/b.log" ||
  fail "b did not log its start action"
boot_json=$(ctl_a list-sas --ike boot --json)
grep -q "\"local-host\":\"127.0.0.1\",\"local-port\":$((port + 1)),.*\"remote-port\":$((port + 1))" \
  <<<"$boot_json" || fail "'boot' does not run on the NAT-T ports: $boot_json"

# --- initiate through ikemectl ---
step "ikemectl initiate --ike home --child net (a -> b)"
out=$(ctl_a initiate --ike home --child net) || fail "initiate failed: $out"
grep -q "IKE_SA home\[[0-9]*\] established" <<<"$out" || fail "unexpected initiate output: $out"
grep -q "CHILD_SA net{[0-9]*} established" <<<"$out" || fail "no CHILD_SA in: $out"

json_a=$(ctl_a list-sas --ike home --json)
json_b=$(ctl_b list-sas --ike home --json)
for j in "$json_a" "$json_b"; do
  grep -q '^{"ok":true,"sas":\[{' <<<"$j" || fail "unexpected list-sas reply: $j"
  [[ $(ike_states <<<"$j") == "ESTABLISHED" ]] ||
    fail "not ESTABLISHED (or more than one SA): $j"
  grep -q '"child-sas":\[{"name":"net"' <<<"$j" || fail "no CHILD_SA 'net': $j"
done
spi_i_a=$(json_values initiator-spi <<<"$json_a") spi_i_b=$(json_values initiator-spi <<<"$json_b")
spi_r_a=$(json_values responder-spi <<<"$json_a") spi_r_b=$(json_values responder-spi <<<"$json_b")
[[ -n $spi_i_a && $spi_i_a == "$spi_i_b" && $spi_r_a == "$spi_r_b" ]] ||
  fail "IKE SPIs differ: a $spi_i_a/$spi_r_a, b $spi_i_b/$spi_r_b"
[[ $(json_values spi-in <<<"$json_a") == $(json_values spi-out <<<"$json_b") &&
  $(json_values spi-out <<<"$json_a") == $(json_values spi-in <<<"$json_b") ]] ||
  fail "CHILD_SA SPIs do not mirror: $json_a / $json_b"
grep -q '"initiator":true' <<<"$json_a" && grep -q '"initiator":false' <<<"$json_b" ||
  fail "initiator flags wrong"
grep -q "\"local-host\":\"127.0.0.1\",\"local-port\":$port_a" <<<"$json_a" ||
  fail "a's local endpoint is not 127.0.0.1[$port_a]: $json_a"
grep -q "\"local-host\":\"127.0.0.2\",\"local-port\":$port_b" <<<"$json_b" ||
  fail "b's local endpoint is not 127.0.0.2[$port_b] (pktinfo): $json_b"
grep -q "CHILD_SA net{[0-9]*} .* not installed (esp_backend: none)" "$tmp/a.log" ||
  fail "a did not log the CHILD_SA (not installed without a data plane)"
grep -q "\[NET\] sent [0-9]* bytes from 127.0.0.1\[$port_a\]" "$tmp/a.log" ||
  fail "a did not log its sends"
human=$(ctl_a list-sas --ike home)
grep -q "^home: #[0-9]*, ESTABLISHED, IKEv2, ${spi_i_a}_i\* ${spi_r_a}_r$" <<<"$human" ||
  fail "unexpected human list-sas: $human"

# --- terminate through ikemectl ---
step "ikemectl terminate --ike home"
out=$(ctl_a terminate --ike home) || fail "terminate failed: $out"
gone() { [[ $("$ctl_bin" --socket "$1" list-sas --ike home --json) == '{"ok":true,"sas":[]}' ]]; }
gone "$tmp/a/peer.sock" || fail "a still lists home after terminate"
wait_for 20 gone "$tmp/b/peer.sock" || fail "b still lists home after terminate"

# --- SIGTERM: a deletes its SAs and exits 0; b's list becomes empty ---
step "initiating b -> a, then SIGTERM to a"
ctl_b initiate --ike home >/dev/null || fail "initiate from b failed"
[[ $(ctl_a list-sas --json | ike_states | sort -u) == ESTABLISHED ]] ||
  fail "a does not list the SAs"
kill -TERM "$pid_a"
wait_exit "$pid_a"
pid_a=""
[[ $exit_code == 0 ]] || fail "daemon a exited with $exit_code after SIGTERM"
grep -q "SIGTERM received, shutting down: deleting 2 IKE SA(s)" "$tmp/a.log" ||
  fail "a did not log its shutdown"
grep -q "generating INFORMATIONAL request [0-9]* \[ D \]" "$tmp/a.log" || fail "a sent no DELETE"
empty() { [[ $(ctl_b list-sas --json) == '{"ok":true,"sas":[]}' ]]; }
wait_for 20 empty || fail "b still lists SAs after a's shutdown: $(ctl_b list-sas --json)"
[[ ! -e $tmp/a/peer.sock ]] || fail "a left its control socket behind"

# --- errors ---
step "errors: daemon not running, usage, bad configuration"
set +e
out=$(ctl_a list-sas 2>&1)
rc=$?
set -e
[[ $rc == 1 ]] || fail "ikemectl against a stopped daemon exited $rc"
grep -q "cannot connect to $tmp/a/peer.sock: No such file or directory — is ikeme-peer running?" \
  <<<"$out" || fail "unclear error: $out"
set +e
"$ctl_bin" --socket "$tmp/b/peer.sock" terminate >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || fail "usage error exited $rc"
out=$(ctl_b initiate --ike nosuch 2>&1) && fail "initiating an unknown connection succeeded"
grep -q "no connection named 'nosuch'" <<<"$out" || fail "unclear error: $out"

printf 'daemon:\n  port: 15000\nconnections:\n  x:\n    proposals: bogus-cipher\n' >"$tmp/bad.yaml"
set +e
out=$("$peer_bin" --config "$tmp/bad.yaml" --foreground 2>&1)
rc=$?
set -e
[[ $rc == 1 ]] || fail "a bad configuration exited $rc"
grep -q "^ikeme-peer: $tmp/bad.yaml:5:[0-9]*: connections.x.proposals: " <<<"$out" ||
  fail "the error does not name file:line: $out"

# SIGHUP with a broken file keeps the old configuration.
cp "$tmp/bad.yaml" "$tmp/b.yaml"
kill -HUP "$pid_b"
wait_for 20 grep -q "reload (SIGHUP) failed, keeping the old configuration: $tmp/b.yaml:5:" \
  "$tmp/b.log" || fail "b did not report the broken reload"
ctl_b list-conns --ike home >/dev/null || fail "b lost its configuration"

step "SIGTERM to b"
kill -TERM "$pid_b"
wait_exit "$pid_b"
pid_b=""
[[ $exit_code == 0 ]] || fail "daemon b exited with $exit_code"
step "PASS"
