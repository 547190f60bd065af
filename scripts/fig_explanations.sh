#!/usr/bin/env bash
# The paper's qualitative figure: image, raw attention, attention rollout, Mamba-Attribution (and the unified
# attribution) side by side. Usage: scripts/fig_explanations.sh [CHECKPOINT IMAGE...]
# Default: the bundled model on 4 cluttered test images. With the official Vim-S checkpoint and your own
# photos it draws the paper's figure. Seconds per image on 2 cores. Writes out/fig_explanations/.
set -euo pipefail
cd "$(dirname "$0")/.."
hattn=./build/bin/hattn
out=out/fig_explanations
mkdir -p "$out"
ckpt=${1:-models/weights/vim_cluttered.safetensors}
shift || true
images=("$@")
if [[ ${#images[@]} -eq 0 ]]; then
  $hattn cluttered --split test --index 10 --count 4 --out "$out/inputs" >/dev/null
  images=("$out"/inputs/test_*[0-9].png)
fi
for img in "${images[@]}"; do
  name=$(basename "${img%.*}")
  for variant in official exact; do
    $hattn explain --checkpoint "$ckpt" --image "$img" --method raw,rollout,attr,unified --variant $variant \
      --out "$out/$name/$variant" 2>/dev/null
  done
  echo "$img -> $out/$name/{official,exact}/panel.png"
done
