#!/usr/bin/env bash
# The paper's App. A (oversmoothing): per block, the mean cosine similarity between all pairs of tokens (Vim: the
# residual stream after the block; ViT: the block's output), averaged over images, for a Vision Mamba and a ViT,
# drawn as two curves over relative depth. Usage:
#   scripts/fig_oversmoothing.sh [VIM_CHECKPOINT] [VIT_CHECKPOINT] [IMAGES (100)]
# Defaults: the bundled Vim and models/weights/vit_cluttered.safetensors (train one with `hattn train --arch vit`
# if it is not there), on cluttered Fashion-MNIST test images. Under a minute on 2 cores for the small models.
# Writes out/fig_oversmoothing/{oversmoothing.svg, vim.json, vit.json}.
set -euo pipefail
cd "$(dirname "$0")/.."
vim=${1:-models/weights/vim_cluttered.safetensors}
vit=${2:-models/weights/vit_cluttered.safetensors}
count=${3:-100}
hattn=./build/bin/hattn
out=out/fig_oversmoothing
[[ -x $hattn ]] || { echo "fig_oversmoothing: $hattn is missing; run make" >&2; exit 2; }
for f in "$vim" "$vit"; do
  [[ -f $f ]] || { echo "fig_oversmoothing: '$f' is missing (a ViT: hattn train --arch vit --out DIR)" >&2; exit 2; }
done
mkdir -p "$out/images"
$hattn cluttered --split test --index 0 --count "$count" --out "$out/images" >/dev/null
rm -f "$out"/images/*_mask.png
$hattn similarity --checkpoint "$vim" --images "$out/images" --limit "$count" --json >"$out/vim.json"
$hattn similarity --checkpoint "$vit" --images "$out/images" --limit "$count" --json >"$out/vit.json"
# two polylines over relative depth (block l of n at (l + 1) / n), similarity 0..1
awk -v vim_file="$out/vim.json" -v vit_file="$out/vit.json" '
  function curve(file, color, label, y0,   line, n, v, i, pts, x, y) {
    getline line < file
    sub(/.*\[/, "", line); sub(/\].*/, "", line)
    n = split(line, v, /, */)
    pts = ""
    for (i = 1; i <= n; ++i) {
      x = 60 + 480 * i / n; y = 340 - 300 * v[i]
      pts = pts sprintf("%.1f,%.1f ", x, y)
      printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x, y, color
    }
    printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", color, pts
    printf "<text x=\"400\" y=\"%d\" fill=\"%s\">%s</text>\n", y0, color, label
  }
  BEGIN {
    print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"400\" font-family=\"sans-serif\" font-size=\"13\">"
    print "<rect width=\"600\" height=\"400\" fill=\"white\"/>"
    print "<line x1=\"60\" y1=\"340\" x2=\"560\" y2=\"340\" stroke=\"black\"/><line x1=\"60\" y1=\"40\" x2=\"60\" y2=\"340\" stroke=\"black\"/>"
    for (t = 0; t <= 4; ++t) printf "<text x=\"20\" y=\"%d\">%.2f</text>\n", 344 - 75 * t, t * 0.25
    print "<text x=\"230\" y=\"380\">relative depth (block / depth)</text>"
    print "<text x=\"60\" y=\"25\">mean pairwise cosine similarity of the tokens (oversmoothing)</text>"
    curve(vim_file, "#1f77b4", "Vision Mamba", 60)
    curve(vit_file, "#d62728", "ViT", 80)
    print "</svg>"
  }' >"$out/oversmoothing.svg"
echo "vim: $(cat "$out/vim.json")"
echo "vit: $(cat "$out/vit.json")"
echo "fig_oversmoothing: $out/oversmoothing.svg"
