#!/usr/bin/env bash
# The paper's Fig. 4, vision half: Vision Mamba's hidden attention (both directions summed, |α| min-max per
# channel) next to a ViT's softmax attention (per head), at 25 %, 50 % and 75 % depth, first 64 tokens.
# Usage: scripts/fig_attention_vs_transformer.sh [--vim CKPT] [--vit CKPT] [--image IMG]
# Default: the bundled Vim and ViT on one cluttered test image; the paper's setting is Vim-T and DeiT-T with an
# ImageNet image. Seconds on 2 cores. Writes out/fig_attention_vs_transformer/ (index.html with both columns,
# and each layer's .npy and .png from `hattn attention`).
set -euo pipefail
cd "$(dirname "$0")/.."
vim=models/weights/vim_cluttered.safetensors
vit=models/weights/vit_cluttered.safetensors
img=
while [[ $# -gt 0 ]]; do
  case $1 in
    --vim) vim=$2; shift 2 ;;
    --vit) vit=$2; shift 2 ;;
    --image) img=$2; shift 2 ;;
    *) echo "fig_attention_vs_transformer: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
hattn=./build/bin/hattn
out=out/fig_attention_vs_transformer
[[ -x $hattn ]] || { echo "fig_attention_vs_transformer: $hattn is missing; run make" >&2; exit 2; }
for f in "$vim" "$vit"; do
  [[ -f $f ]] || { echo "fig_attention_vs_transformer: '$f' is missing" >&2; exit 2; }
done
mkdir -p "$out"
if [[ -z $img ]]; then
  $hattn cluttered --split test --index 3 --count 1 --out "$out/inputs" >/dev/null
  img=$out/inputs/test_3.png
fi
depth_of() { $hattn info --checkpoint "$1" | sed -nE 's/^config .*depth=([0-9]+).*/\1/p'; }
vim_depth=$(depth_of "$vim")
vit_depth=$(depth_of "$vit")
rows=""
for pct in 25 50 75; do
  lv=$((vim_depth * pct / 100)) lt=$((vit_depth * pct / 100))
  $hattn attention --checkpoint "$vim" --image "$img" --layer $lv --direction sum --channels 0:3 --first-k 64 \
    --out "$out/vim" 2>/dev/null
  $hattn attention --checkpoint "$vit" --image "$img" --layer $lt --first-k 64 --out "$out/vit" 2>/dev/null
  rows+="<tr><th>$pct %</th><td><img src=\"vim/attn_l${lv}_sum.png\"><br>Vim layer $lv of $vim_depth</td>"
  rows+="<td><img src=\"vit/attn_l${lt}.png\"><br>ViT block $lt of $vit_depth</td></tr>"$'\n'
  echo "$pct% depth: Vim layer $lv -> $out/vim/attn_l${lv}_sum.png, ViT block $lt -> $out/vit/attn_l${lt}.png"
done
cp "$img" "$out/input.png"
cat >"$out/index.html.tmp" <<HTML
<!doctype html><meta charset="utf-8"><title>Hidden attention vs softmax attention</title>
<style>body{font-family:sans-serif} td,th{padding:6px;vertical-align:top;text-align:center} img{max-width:560px}</style>
<h1>Vision Mamba's hidden attention next to a ViT's attention (first 64 tokens)</h1>
<p>Image: <img src="input.png" style="width:112px;image-rendering:pixelated;vertical-align:middle">
Vim: $vim (|&alpha;| of both directions summed, min-max per channel; the first tile is the channel mean).
ViT: $vit (row-softmax attention per head; the first tile is the head mean).</p>
<table><tr><th>depth</th><th>Vision Mamba</th><th>ViT</th></tr>
$rows</table>
HTML
mv "$out/index.html.tmp" "$out/index.html"
echo "fig_attention_vs_transformer: $out/index.html"
