#!/usr/bin/env bash
# ctest xfrm_kernel: the XFRM data plane in a kernel that has ESP. The host kernel has none, so
# this boots Debian's kernel under qemu with the team's harness (../shared/kvm-xfrm next to the
# repository, or $IKEME_KVM_XFRM) and runs vm_cases.sh inside it, where xfrm_driver sets up
# real ESP tunnels between network namespaces.
#
# usage: xfrm_kernel_test.sh XFRM_DRIVER
# A missing harness is a FAILURE (exit 1) with instructions, never a skip: the data plane must
# not pass untested.
set -euo pipefail
driver=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/kvm_harness.sh
source "$repo/scripts/kvm_harness.sh"
harness=$(ikeme_kvm_harness "$repo")
runner=$harness/run-in-kernel.sh
if [[ ! -x "$runner" ]]; then
  echo "FAIL: VM harness not found at $runner" >&2
  echo "      The XFRM data plane can only be tested in a kernel with ESP. Put the kvm-xfrm" >&2
  echo "      harness at ../shared/kvm-xfrm (next to the repository) or /work/shared/kvm-xfrm, or set IKEME_KVM_XFRM," >&2
  echo "      then run its setup.sh once as root (see docs/testing.md)." >&2
  exit 1
fi
[[ $EUID -eq 0 ]] || { echo "FAIL: the VM harness needs root" >&2; exit 1; }
[[ -x "$driver" ]] || { echo "FAIL: no driver at $driver" >&2; exit 1; }
# The host's probe must refuse ESP with the kernel's reason (this host has XFRM but no ESP);
# on a host that has ESP it succeeds, which is fine too.
host_probe=$(unshare -n "$driver" --probe || true)
echo "host: $host_probe"
start=$SECONDS
rc=0
# cwd must be visible in the guest: the repository (read-only there) is.
cd "$repo"
# The guest sees the host's / read-only, but not the host's /tmp or /run: share the repository
# and the build directory explicitly, so that a clone anywhere (a CI workspace under /tmp) works.
shares=(--share "$repo")
case "$(dirname "$driver")" in "$repo"/*) ;; *) shares+=(--share "$(dirname "$driver")") ;; esac
"$runner" -q --timeout 200 "${shares[@]}" -- bash "$here/vm_cases.sh" "$driver" || rc=$?
echo "VM run: $((SECONDS - start)) s, exit $rc"
if ((rc == 125)); then
  echo "FAIL: the VM did not start (harness error above); run $harness/setup.sh as root" >&2
fi
exit "$rc"
