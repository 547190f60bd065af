#!/usr/bin/env bash
# The paper's two small models side by side on this machine: DeiT-S and Vim-S shapes (random weights from
# `hattn init`: DeiT-S D 384, 12 blocks, 6 heads; Vim-S D 384, 24 layers), one 224×224 image, whole `hattn`
# processes, best of 3: classify (load + forward) and explain --method attr (forward, backward and the map:
# Transformer-Attribution's relevance pass for the ViT, Mamba-Attribution for Vim). Writes OUTDIR/table.md.
# Usage: scripts/bench_vit_vs_vim.sh [OUTDIR (out/bench_vit)]. About a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench_vit}
hattn=./build/bin/hattn
img=tests/data/images/src_wide.png
[[ -x $hattn ]] || { echo "bench_vit_vs_vim: $hattn is missing; run make" >&2; exit 2; }
mkdir -p "$out"
[[ -f $out/deit_small.safetensors ]] || $hattn init --config deit-small --out "$out/deit_small.safetensors" >/dev/null
[[ -f $out/vim_small.safetensors ]] || $hattn init --config small --out "$out/vim_small.safetensors" >/dev/null
best_of_3() {  # prints the fastest wall time of three runs, in seconds
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    best=$(awk -v a="$best" -v b="$(awk "BEGIN { print $t1 - $t0 }")" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  printf '%.3f' "$best"
}
{
  echo "## DeiT-S vs Vim-S shapes, one 224x224 image, whole processes, best of 3 ($(date -u +%F), $(nproc) cores)"
  echo
  echo "| model | classify | explain --method attr |"
  echo "|---|---|---|"
  for m in deit_small vim_small; do
    c=$(best_of_3 $hattn classify --checkpoint "$out/$m.safetensors" --image "$img")
    e=$(best_of_3 $hattn explain --checkpoint "$out/$m.safetensors" --image "$img" --method attr --out "$out/x_$m")
    echo "| $m | $c s | $e s |"
  done
} | tee "$out/table.md"
