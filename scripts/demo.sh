#!/usr/bin/env bash
# make demo: explain a handful of cluttered Fashion-MNIST test images with the bundled model, every method,
# and write the panels, one layer's attention matrices, and the explorer page out/demo/index.html (`hattn
# explore`: opens from file://, no server; the bundled ViT beside the Vim; scripts/check_explorer.sh renders it
# in headless Chromium); then the bundled recall language models (Mamba-1, Mamba-2 and the GPT-NeoX beside them)
# answer and explain a prompt (token heatmaps in out/demo/lm_<arch>/).
# Takes well under a minute on 2 cores (after the build).
set -euo pipefail
cd "$(dirname "$0")/.."
hattn=./build/bin/hattn
model=models/weights/vim_cluttered.safetensors
out=out/demo
count=${DEMO_IMAGES:-4}
[[ -x $hattn ]] || { echo "demo: $hattn is missing; run 'make' first" >&2; exit 2; }
[[ -f $model ]] || { echo "demo: the bundled model $model is missing" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out/inputs"
echo "== bundled model"
$hattn info --checkpoint "$model" | head -4
echo "== $count cluttered test images -> $out/inputs"
$hattn cluttered --split test --index 0 --count "$count" --out "$out/inputs" >/dev/null
names=("T-shirt/top" "Trouser" "Pullover" "Dress" "Coat" "Sandal" "Shirt" "Sneaker" "Bag" "Ankle boot")
while read -r file label; do
  label="$label (${names[$label]})"
  name=${file%.png}
  pred=$($hattn classify --checkpoint "$model" --image "$out/inputs/$file" --topk 1 --json)
  top=$(sed -E 's/.*"label": "([^"]*)".*"prob": ([0-9.e-]+).*/\2 \1/' <<<"$pred" |
    awk '{ p = $1; $1 = ""; sub(/^ /, ""); printf "%s (p = %.2f)", $0, p }')
  echo "$file: true class $label, predicted $top"
  $hattn explain --checkpoint "$model" --image "$out/inputs/$file" --out "$out/$name" 2>/dev/null
done <"$out/inputs/labels.txt"
layer=$(( $($hattn info --checkpoint "$model" | sed -nE 's/.*depth=([0-9]+).*/\1/p') / 2 ))
echo "== attention matrices of layer $layer -> $out/attention"
$hattn attention --checkpoint "$model" --image "$out/inputs/test_0.png" --layer "$layer" --channels 0:15 --out "$out/attention" 2>/dev/null
echo "== explorer -> $out/index.html"
files=$(cut -d' ' -f1 "$out/inputs/labels.txt" | sed "s|^|$out/inputs/|" | paste -sd,)
labels=$(cut -d' ' -f2 "$out/inputs/labels.txt" | paste -sd,)
vit=models/weights/vit_cluttered.safetensors  # the ViT beside the Vim in the explorer, once it is bundled
compare=()
[[ -f $vit ]] && compare=(--compare "$vit")
$hattn explore --checkpoint "$model" "${compare[@]}" --images "$files" --labels "$labels" --out "$out"
prompt="a3k7q1m9z2b5|m"
for arch in mamba1 mamba2 gpt_neox; do
  lm=models/weights/recall_$arch
  [[ -d $lm ]] || { echo "demo: the bundled language model $lm is missing" >&2; exit 2; }
  answer=$($hattn lm generate --model "$lm" --text "$prompt" --max-new-tokens 1 2>/dev/null)
  echo "== $arch recall model: \"$prompt\" -> \"$answer\" (the value of m is 9); explanations -> $out/lm_$arch/"
  $hattn lm explain --model "$lm" --text "$prompt" --out "$out/lm_$arch" 2>/dev/null
done
echo "== done: open $out/index.html in a browser (the explorer); panels in $out/test_*/panel.png; token heatmaps"
echo "   in $out/lm_mamba1/attr.html, $out/lm_mamba2/attr.html and $out/lm_gpt_neox/attr.html"
