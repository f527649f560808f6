#!/usr/bin/env bash
# The main demo: installs what is missing, builds, then runs the double-NAT demo
# (scripts/double_nat_demo.sh): two peers, each behind its own NAT, register at ikeme-mediator,
# exchange endpoints, punch through both NATs and ping through their direct ESP tunnel, all in
# network namespaces that are removed again afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
scripts/double_nat_demo.sh build/release
