#!/usr/bin/env bash
# Valgrind (memcheck) on the CLI demo path: classify, explain (every method), attention and info with the
# bundled model on a cluttered test image. Builds a portable binary first (build-vg/, no -march=native:
# valgrind does not emulate AVX-512). Fails on any invalid access or any lost block; the image decoder (the
# reader program hattn-reader that hattn spawns) is checked too. Takes a few minutes on 2 cores.
# Usage: scripts/valgrind_demo.sh [OUTDIR]   (default out/valgrind; logs per command and summary.txt)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/valgrind}
command -v valgrind >/dev/null || { echo "valgrind_demo: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
cmake -S . -B build-vg -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHATTN_NATIVE=OFF -DHATTN_CUDA=OFF >/dev/null || exit 1
cmake --build build-vg -j "$(nproc)" --target hattn >/dev/null || exit 1
hattn=./build-vg/bin/hattn
model=models/weights/vim_cluttered.safetensors
rm -rf "$out"
mkdir -p "$out"
$hattn cluttered --split test --index 0 --count 1 --out "$out/input" >/dev/null || exit 1
image=$out/input/test_0.png
vg=(valgrind --trace-children=yes --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=9)
status=0
run() {
  local name=$1; shift
  HATTN_NUM_THREADS=2 "${vg[@]}" $hattn "$@" >"$out/$name.out" 2>"$out/$name.log"
  local rc=$?
  local errors lost
  errors=$(grep -c 'ERROR SUMMARY: [1-9]' "$out/$name.log")
  lost=$(grep -E 'definitely lost: [1-9]|indirectly lost: [1-9]|possibly lost: [1-9]' "$out/$name.log" | wc -l)
  echo "$name: exit $rc, processes with errors: $errors, with lost blocks: $lost" | tee -a "$out/summary.txt"
  [[ $rc -eq 0 && $errors -eq 0 && $lost -eq 0 ]] || status=1
}
run classify classify --checkpoint "$model" --image "$image"
run explain explain --checkpoint "$model" --image "$image" --out "$out/explain"
run attention attention --checkpoint "$model" --image "$image" --layer 3 --out "$out/attention"
run info info --checkpoint "$model"
[[ $status -eq 0 ]] && echo "valgrind: clean" || echo "valgrind: FAILED (logs in $out/)"
exit $status
