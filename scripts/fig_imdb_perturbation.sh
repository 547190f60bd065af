#!/usr/bin/env bash
# The paper's Fig. 7 (ACL Fig. 5): token pruning (AU-MSE, lower is better) and activation (AUAC, higher is better)
# curves of a Mamba classifier (Mamba-Attribution) and a BERT classifier (Transformer-Attribution) on IMDb reviews,
# with the other methods beside (docs/definitions.md §11). The paper gives curves only, no numbers.
# Usage: scripts/fig_imdb_perturbation.sh [--model DIR]... [--data aclImdb] [--limit N] [--methods LIST] [--out DIR]
# Default (offline, about a minute on 2 cores): the bundled sentiment classifiers (BERT, Mamba-1, Mamba-2) on the
# synthetic review set (--data sentiment, 200 reviews). The paper's setting: --model <a BERT fine-tuned on IMDb,
# e.g. textattack/bert-base-uncased-imdb> --model <a Mamba-130m fine-tuned on IMDb, in Hugging Face's score layout
# or MambaLRP's> --data <the aclImdb folder> (--limit 500 keeps it to hours on a CPU).
# Writes OUT/<model>_{activation,pruning}/ (results.json, curves.svg, curves.csv) and OUT/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
models=()
data=sentiment
limit=200
methods=all
out=out/fig_imdb_perturbation
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) models+=("$2"); shift 2 ;;
    --data) data=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "fig_imdb_perturbation: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
if [[ ${#models[@]} -eq 0 ]]; then
  models=(models/weights/sentiment_bert models/weights/sentiment_mamba1 models/weights/sentiment_mamba2)
fi
hattn=./build/bin/hattn
[[ -x $hattn ]] || { echo "fig_imdb_perturbation: $hattn is missing; run make" >&2; exit 2; }
mkdir -p "$out"
rows=""
for m in "${models[@]}"; do
  [[ -e $m ]] || { echo "fig_imdb_perturbation: '$m' is missing" >&2; exit 2; }
  name=$(basename "$m")
  rows+="<tr><th>$name</th>"
  for task in pruning activation; do
    echo "fig_imdb_perturbation: $name $task on $data (limit $limit)"
    $hattn lm eval --task $task --model "$m" --data "$data" --limit "$limit" --methods "$methods" \
      --out "$out/${name}_$task" >/dev/null
    rows+="<td><img src=\"${name}_$task/curves.svg\"></td>"
  done
  rows+="</tr>"$'\n'
done
cat >"$out/index.html.tmp" <<HTML
<!doctype html><meta charset="utf-8"><title>Token perturbation</title>
<style>body{font-family:sans-serif} td,th{padding:6px;vertical-align:top}</style>
<h1>Token pruning (AU-MSE ↓) and activation (AUAC ↑) on $data</h1>
<p>The paper's Fig. 7 shows these curves for a Mamba and a BERT classifier on IMDb (no numbers are given).
Each model's results.json and results.md hold the areas.</p>
<table><tr><th>model</th><th>pruning</th><th>activation</th></tr>
$rows</table>
HTML
mv "$out/index.html.tmp" "$out/index.html"
for m in "${models[@]}"; do
  name=$(basename "$m")
  echo "== $name"; sed -n '/^|/p' "$out/${name}_activation/results.md" "$out/${name}_pruning/results.md"
done
echo "fig_imdb_perturbation: $out/index.html"
