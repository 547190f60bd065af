#!/usr/bin/env bash
# Copies the sources a bare GPU machine lacks into the git-ignored .deps/: GoogleTest (from Debian's
# /usr/src/googletest) and the stb headers (/usr/include/stb). Run here before `run`-ning scripts/gpu_check.sh
# remotely with carry [".deps"].
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/include
rm -rf .deps/googletest .deps/include/stb
cp -r /usr/src/googletest .deps/googletest
cp -r /usr/include/stb .deps/include/stb
du -sh .deps
