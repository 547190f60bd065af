#!/usr/bin/env bash
# The paper's Fig. 4, language half: a Mamba language model's hidden attention at 25 %, 50 % and 75 % depth, first
# 64 tokens (per layer: min-max |α| of the channel mean, then the first channels; Mamba-2: its heads), beside a
# GPT-NeoX (Pythia) model's softmax attention when one is given (its head mean, then the first heads).
# Usage: scripts/fig_lm_attention.sh [--model DIR]... [--text TEXT] [--tokenizer tokenizer.json]
# Default: the three bundled recall models (models/weights/recall_mamba1, recall_mamba2, recall_gpt_neox, trained on
# the same task) on a recall prompt, in seconds on 2 cores. The paper's setting: --model <folder of
# state-spaces/mamba-130m> --model <folder of EleutherAI/pythia-160m> --tokenizer <GPT-NeoX tokenizer.json>
# --text "any text", about a minute for a 130m model.
# Writes out/fig_lm_attention/index.html and each layer's .npy and .png from `hattn lm attention`.
set -euo pipefail
cd "$(dirname "$0")/.."
models=()
text="a3k7q1m9z2b5w8e0|q"
tok=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) models+=("$2"); shift 2 ;;
    --text) text=$2; shift 2 ;;
    --tokenizer) tok=(--tokenizer "$2"); shift 2 ;;
    *) echo "fig_lm_attention: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ ${#models[@]} -gt 0 ]] || models=(models/weights/recall_mamba1 models/weights/recall_mamba2 models/weights/recall_gpt_neox)
hattn=./build/bin/hattn
out=out/fig_lm_attention
[[ -x $hattn ]] || { echo "fig_lm_attention: $hattn is missing; run make" >&2; exit 2; }
mkdir -p "$out"
cells=""
header="<tr><th>depth</th>"
for m in "${models[@]}"; do
  [[ -e $m ]] || { echo "fig_lm_attention: '$m' is missing" >&2; exit 2; }
  header+="<th>$(basename "$m")</th>"
done
header+="</tr>"
rows=""
for pct in 25 50 75; do
  rows+="<tr><th>$pct %</th>"
  for m in "${models[@]}"; do
    name=$(basename "$m")
    layers=$($hattn info --checkpoint "$m" | sed -nE 's/^config .*layers=([0-9]+).*/\1/p')
    layer=$((layers * pct / 100))
    $hattn lm attention --model "$m" "${tok[@]}" --text "$text" --layer $layer --first-k 64 --out "$out/$name" \
      2>"$out/last.err" || { cat "$out/last.err" >&2; exit 1; }
    rows+="<td><img src=\"$name/attn_l$layer.png\"><br>layer $layer of $layers</td>"
    echo "$pct% depth: $name layer $layer -> $out/$name/attn_l$layer.png"
  done
  rows+="</tr>"$'\n'
done
esc=$(printf '%s' "$text" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g')
cat >"$out/index.html.tmp" <<HTML
<!doctype html><meta charset="utf-8"><title>Attention of language models</title>
<style>body{font-family:sans-serif} td,th{padding:6px;vertical-align:top;text-align:center} img{max-width:520px}</style>
<h1>Attention of language models (first 64 tokens)</h1>
<p>Text: <code>$esc</code>. Each picture: min-max |&alpha;| of the channel (or head) mean, then the first channels
(Mamba-1) or heads (Mamba-2, GPT-NeoX: softmax probabilities); row i is token i attending to tokens j &le; i.</p>
<table>$header
$rows</table>
HTML
mv "$out/index.html.tmp" "$out/index.html"
echo "fig_lm_attention: $out/index.html"
