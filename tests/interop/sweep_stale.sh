#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Removes namespaces, processes and run directories left by interop/bench runs that were
# SIGKILLed (normal exits, errors and Ctrl-C are cleaned up by the runs' own EXIT trap).
# Only touches ikmXXXX-* namespaces whose owning shell is dead.
set -euo pipefail
# shellcheck source=lib/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/netns.sh"
ikm_sweep_stale
