# shellcheck shell=bash
# Where the team's kvm-xfrm VM harness is (sourced by install-deps.sh and the XFRM tests):
# $IKEME_KVM_XFRM if set, else ../shared/kvm-xfrm next to the repository, else the team's
# shared folder /work/shared/kvm-xfrm (a clone elsewhere, e.g. a CI workspace, still finds it).
# Prints the first candidate that has run-in-kernel.sh, or the first candidate if none does (so
# that error messages name where it was expected).
ikeme_kvm_harness() {
  local repo=$1 c
  local candidates=("$repo/../shared/kvm-xfrm" /work/shared/kvm-xfrm)
  [[ -n "${IKEME_KVM_XFRM:-}" ]] && candidates=("$IKEME_KVM_XFRM")
  for c in "${candidates[@]}"; do
    if [[ -x "$c/run-in-kernel.sh" ]]; then
      echo "$c"
      return 0
    fi
  done
  echo "${candidates[0]}"
}
