#!/usr/bin/env bash
# Checks that results depend on the instruction set only, not on the CPU the compiler tunes for: builds hattn a
# second time with AMD Zen's tuning (-mtune=znver3; GCC 12 has no znver4) over the same -march=native
# instructions, runs classify, every explain map (both variants), attention and both language models with each
# binary, and compares every output file bitwise. Before -ffp-contract=off this failed: Zen's tuning avoids FMA
# chains that Intel's forms. Usage: bash scripts/check_tuning.sh [REFERENCE_BUILD (build)]
set -euo pipefail
cd "$(dirname "$0")/.."
ref_build=${1:-build}
[[ -x $ref_build/bin/hattn ]] || { echo "check_tuning: build $ref_build first (make)"; exit 2; }
cmake -S . -B build-tune -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-mtune=znver3" -DHATTN_CUDA=OFF \
  -DHATTN_TESTS=OFF -DHATTN_BENCH=OFF > /dev/null
cmake --build build-tune -j "$(nproc)" --target hattn > /dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { bash scripts/snapshot_outputs.sh "$1" "$2" quick; }
run "$ref_build/bin/hattn" "$out/native"
run build-tune/bin/hattn "$out/znver3"
differ=0 files=0
while IFS= read -r f; do
  files=$((files + 1))
  cmp -s "$out/native/$f" "$out/znver3/$f" || { echo "differs: $f"; differ=$((differ + 1)); }
done < <(cd "$out/native" && find . -name '*.npy' | sort)
echo "check_tuning: $files .npy files, $differ differ between -mtune=native and -mtune=znver3"
[[ $differ -eq 0 ]]
