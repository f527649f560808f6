#!/usr/bin/env bash
# Configures and builds one flavour of ikeme. Usage: scripts/build.sh [release|asan|fuzz]
# Build trees live in build/<flavour>.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
# ccache (when installed) makes rebuilds in several worktrees cheap; it changes no output.
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
case "$flavour" in
  release) cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null ;;
  asan) cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIKEME_SANITIZE=ON "${launcher[@]}" >/dev/null ;;
  fuzz)
    CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DIKEME_FUZZ=ON "${launcher[@]}" >/dev/null
    ;;
  *)
    echo "build.sh: unknown flavour '$flavour' (release, asan or fuzz)" >&2
    exit 2
    ;;
esac
ninja -C "build/$flavour" -j "$jobs"
