#!/usr/bin/env bash
# Installs the Debian 12 packages ikeme needs to build and test, and only those missing.
# Idempotent: a second run installs nothing and does not touch the network.
set -euo pipefail

packages=(
  # build
  cmake ninja-build pkg-config g++ clang libclang-rt-14-dev clang-format
  # libraries
  libuv1-dev libmbedtls-dev libnl-3-dev libnl-xfrm-3-dev libnl-route-3-dev libyaml-cpp-dev
  libpcap-dev catch2 nlohmann-json3-dev
  # interop/bench peers (strongSwan charon with kernel-libipsec) and namespace tooling
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
  libstrongswan-extra-plugins iproute2 nftables iperf3 python3
)

# The XFRM data-plane tests (ctest xfrm_kernel, xfrm_daemon) boot a Debian kernel with ESP under
# qemu through the team's harness next to the repository (../shared/kvm-xfrm, or
# $IKEME_KVM_XFRM). Its setup.sh installs qemu and that kernel; run it only while they are
# missing. Without the harness those tests fail (they say how to fix it).
# shellcheck source=kvm_harness.sh
source "$(dirname "$0")/kvm_harness.sh"
harness=$(ikeme_kvm_harness "$(cd "$(dirname "$0")/.." && pwd)")
if [[ -x "$harness/setup.sh" ]]; then
  for p in qemu-system-x86 busybox-static linux-image-amd64; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "install-deps: setting up the VM harness ($harness/setup.sh)"
      "$harness/setup.sh" --no-test
      break
    fi
  done
else
  echo "install-deps: no VM harness at $harness: the xfrm_* tests will fail"
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
