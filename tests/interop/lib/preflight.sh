# shellcheck shell=bash
# Preconditions of a namespace test, checked before the rest of the harness is sourced, so that a
# missing one fails with one clear line. Never a skip: the suite must not pass untested.
#
#   pre_fail TEXT            prints "FAIL: TEXT" and the RESULT line, exits 1
#   ikm_require_root WHY     fails unless root; WHY says what root is needed for
#   ikm_preflight WHY TOOL...  root, then every TOOL (a command on PATH or an executable path;
#                            /dev/net/tun: the TUN device must exist)

pre_fail() {
  echo "FAIL: $1"
  echo "RESULT: FAIL (precondition: $1)"
  exit 1
}

ikm_require_root() {
  [[ $EUID -eq 0 ]] || pre_fail "must run as root ($1); not skipping"
}

ikm_preflight() {
  local tool
  ikm_require_root "$1"
  shift
  for tool in "$@"; do
    if [[ $tool == /dev/net/tun ]]; then
      [[ -c $tool ]] || pre_fail "/dev/net/tun missing"
    else
      command -v "$tool" >/dev/null 2>&1 || pre_fail "$tool not found (scripts/install-deps.sh)"
    fi
  done
}
