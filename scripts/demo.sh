#!/usr/bin/env bash
# The main demo: installs what is missing, builds, and decodes a real strongSwan double-NAT
# mediation run (registrations, ME_CONNECT relay, connectivity checks, direct IKE, ESP) with
# ikemectl, which names the IKE-ME code points that Wireshark does not know.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
echo
echo "== ikemectl decode tests/data/strongswan-p2p/public.pcap"
build/release/peer/ctl/ikemectl decode tests/data/strongswan-p2p/public.pcap
