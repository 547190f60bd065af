#!/usr/bin/env bash
# `cmake --install` of a build into a temporary prefix, then a C project outside the tree (tests/install_consumer)
# that finds it with find_package(HiddenAttn), links HiddenAttn::hattn and explains an image with the installed
# library (whose reader program is installed beside it). Usage: bash scripts/check_install.sh [BUILD_DIR (build)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null
cmake -S tests/install_consumer -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" > /dev/null
cmake --build "$tmp/consumer" > /dev/null
"$tmp/consumer/consumer" models/weights/vim_cluttered.safetensors tests/data/images/src_wide.png
"$tmp/prefix/bin/hattn" --version
