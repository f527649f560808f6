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
