#!/usr/bin/env bash
# Configures and builds one flavour of ikeme. Usage: scripts/build.sh [release|asan|fuzz]
# Build trees live in build/<flavour>.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
case "$flavour" in
  release) cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ;;
  asan) cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIKEME_SANITIZE=ON >/dev/null ;;
  fuzz)
    CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DIKEME_FUZZ=ON >/dev/null
    ;;
  *)
    echo "build.sh: unknown flavour '$flavour' (release, asan or fuzz)" >&2
    exit 2
    ;;
esac
ninja -C "build/$flavour" -j "$jobs"
