# shellcheck shell=bash source-path=SCRIPTDIR
# Self-checking helpers: every check prints one "PASS: ..." or "FAIL: ..." line and is counted;
# check_summary prints the verdict and returns non-zero if anything failed. Checks never abort
# the script (a failed setup shows up as failed checks, and cleanup still runs).

IKM_CHECKS_PASSED=0
IKM_CHECKS_FAILED=0
IKM_CHECKS_FAILED_NAMES=()

check_pass() {
  IKM_CHECKS_PASSED=$((IKM_CHECKS_PASSED + 1))
  echo "PASS: $1"
}

check_fail() {
  IKM_CHECKS_FAILED=$((IKM_CHECKS_FAILED + 1))
  IKM_CHECKS_FAILED_NAMES+=("$1")
  echo "FAIL: $1${2:+ ($2)}"
}

# check DESC CMD...: passes if CMD succeeds (CMD's output is suppressed).
check() {
  local desc=$1
  shift
  if "$@" >/dev/null 2>&1; then
    check_pass "$desc"
  else
    check_fail "$desc"
  fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
  if [[ "$2" == "$3" ]]; then
    check_pass "$1 [$3]"
  else
    check_fail "$1" "expected '$2', got '$3'"
  fi
}

# check_ne DESC UNEXPECTED ACTUAL (ACTUAL must also be non-empty)
check_ne() {
  if [[ -n "$3" && "$2" != "$3" ]]; then
    check_pass "$1 [$3]"
  else
    check_fail "$1" "got '$3'"
  fi
}

# check_nonempty DESC VALUE
check_nonempty() {
  if [[ -n "$2" ]]; then
    check_pass "$1 [$2]"
  else
    check_fail "$1" "empty"
  fi
}

check_summary() {
  local total=$((IKM_CHECKS_PASSED + IKM_CHECKS_FAILED))
  if ((IKM_CHECKS_FAILED == 0 && total > 0)); then
    echo "RESULT: PASS ($IKM_CHECKS_PASSED/$total checks)"
    return 0
  fi
  echo "RESULT: FAIL ($IKM_CHECKS_FAILED of $total checks failed)"
  local n
  for n in "${IKM_CHECKS_FAILED_NAMES[@]}"; do
    echo "  failed: $n"
  done
  return 1
}
