#!/usr/bin/env bash
# The paper's figure of Mamba's hidden attention matrices: layers at 25%, 50% and 75% depth, several channels,
# both directions summed. Usage: scripts/fig_attention_matrices.sh [CHECKPOINT IMAGE]
# Default: the bundled model on a cluttered test image. Seconds on 2 cores. Writes out/fig_attention_matrices/.
set -euo pipefail
cd "$(dirname "$0")/.."
hattn=./build/bin/hattn
out=out/fig_attention_matrices
mkdir -p "$out"
ckpt=${1:-models/weights/vim_cluttered.safetensors}
img=${2:-}
if [[ -z $img ]]; then
  $hattn cluttered --split test --index 3 --count 1 --out "$out/inputs" >/dev/null
  img=$out/inputs/test_3.png
fi
depth=$($hattn info --checkpoint "$ckpt" | sed -nE 's/.*depth=([0-9]+).*/\1/p')
for pct in 25 50 75; do
  layer=$((depth * pct / 100))
  $hattn attention --checkpoint "$ckpt" --image "$img" --layer $layer --channels 0:15 --out "$out" 2>/dev/null
  echo "layer $layer ($pct% depth) -> $out/attn_l${layer}_sum.png"
done
