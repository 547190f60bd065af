#!/usr/bin/env bash
# The paper's Fig. 5: for each image, the input, then a ViT's raw attention, rollout and Transformer-Attribution,
# then Vision Mamba's raw attention, rollout and Mamba-Attribution (the released code's variant), as overlays.
# Usage: scripts/fig_qualitative_grid.sh [--vim CKPT] [--vit CKPT] [IMAGE...]
# Default: the bundled Vim and ViT on 6 cluttered test images; the paper's setting is Vim-S and DeiT-S with
# ImageNet images. A few seconds per image on 2 cores. Writes out/fig_qualitative_grid/index.html (the grid) and
# each image's maps (.npy and .png from `hattn explain`) under vim/ and vit/.
set -euo pipefail
cd "$(dirname "$0")/.."
vim=models/weights/vim_cluttered.safetensors
vit=models/weights/vit_cluttered.safetensors
images=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --vim) vim=$2; shift 2 ;;
    --vit) vit=$2; shift 2 ;;
    --*) echo "fig_qualitative_grid: unknown option '$1' (see the header of $0)" >&2; exit 2 ;;
    *) images+=("$1"); shift ;;
  esac
done
hattn=./build/bin/hattn
out=out/fig_qualitative_grid
[[ -x $hattn ]] || { echo "fig_qualitative_grid: $hattn is missing; run make" >&2; exit 2; }
for f in "$vim" "$vit"; do
  [[ -f $f ]] || { echo "fig_qualitative_grid: '$f' is missing" >&2; exit 2; }
done
mkdir -p "$out"
if [[ ${#images[@]} -eq 0 ]]; then
  $hattn cluttered --split test --index 20 --count 6 --out "$out/inputs" >/dev/null
  images=("$out"/inputs/test_*[0-9].png)
fi
rows=""
i=0
for img in "${images[@]}"; do
  name=$(printf '%02d_%s' $i "$(basename "${img%.*}")")
  i=$((i + 1))
  mkdir -p "$out/$name"
  cp "$img" "$out/$name/input.png"
  $hattn explain --checkpoint "$vit" --image "$img" --method raw,rollout,attr --out "$out/$name/vit" 2>/dev/null
  $hattn explain --checkpoint "$vim" --image "$img" --method raw,rollout,attr --out "$out/$name/vim" 2>/dev/null
  predicted() { $hattn classify --checkpoint "$1" --image "$img" --topk 1 | awk '$1 == "1" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }'; }
  rows+="<tr><td><img src=\"$name/input.png\"></td>"
  for m in vit/raw vit/rollout vit/attr vim/raw vim/rollout vim/attr; do rows+="<td><img src=\"$name/$m.png\"></td>"; done
  rows+="<td style=\"text-align:left\">ViT: $(predicted "$vit")<br>Vim: $(predicted "$vim")</td>"
  rows+="</tr>"$'\n'
  echo "$img -> $out/$name/{vit,vim}/"
done
cat >"$out/index.html.tmp" <<HTML
<!doctype html><meta charset="utf-8"><title>Explanations: ViT next to Vision Mamba</title>
<style>body{font-family:sans-serif} td,th{padding:3px;text-align:center} img{width:160px;image-rendering:pixelated}
th.group{border-bottom:2px solid #444}</style>
<h1>Explanations of the predicted class: a ViT next to Vision Mamba</h1>
<p>ViT: $vit. Vim: $vim (the released code's variant). Each map is min-max scaled and drawn over the image.</p>
<table>
<tr><th></th><th class="group" colspan="3">ViT</th><th class="group" colspan="3">Vision Mamba</th></tr>
<tr><th>image</th><th>raw attention</th><th>rollout</th><th>Transformer-Attribution</th>
<th>raw attention</th><th>rollout</th><th>Mamba-Attribution</th><th>predicted</th></tr>
$rows</table>
HTML
mv "$out/index.html.tmp" "$out/index.html"
echo "fig_qualitative_grid: $out/index.html"
