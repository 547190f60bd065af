#!/usr/bin/env bash
# Runs one hattn binary over every command that computes something (classify, explain in both variants and with
# its options, attention, similarity, eval perturbation and segmentation, explore, and the language models'
# logits, attention, explain and eval) on the bundled models, writing every output under DIR. Two snapshots
# compared with `cmp` show whether a change moved any number: check_tuning.sh compares two builds, and a
# refactor compares the binary before and after it.
# Usage: bash scripts/snapshot_outputs.sh HATTN_BINARY DIR [quick]   (quick: what check_tuning.sh needs)
set -euo pipefail
cd "$(dirname "$0")/.."
h=$1 d=$2 quick=${3:-}
mkdir -p "$d"
vim=models/weights/vim_cluttered.safetensors
vit=models/weights/vit_cluttered.safetensors
img=tests/data/images/src_wide.png
text='a3k7q1m9z2b5|m'
q() { "$@" > /dev/null 2>&1 || { echo "snapshot_outputs: failed: $*" >&2; exit 1; }; }
q "$h" classify --checkpoint $vim --image $img --logits-npy "$d/logits.npy"
q "$h" explain --checkpoint $vim --image $img --out "$d/official"
q "$h" explain --checkpoint $vim --image $img --variant exact --method raw,rollout,attr --out "$d/exact"
q "$h" explain --checkpoint $vit --image $img --out "$d/vit"
q "$h" attention --checkpoint $vim --image $img --layer 3 --out "$d/attention"
for m in mamba1 mamba2; do
  q "$h" lm logits --model models/weights/recall_$m --text "$text" --logits-npy "$d/lm_$m.npy"
  q "$h" lm explain --model models/weights/recall_$m --text "$text" --out "$d/lm_explain_$m"
done
[[ $quick == quick ]] && exit 0
q "$h" classify --checkpoint $vit --image $img --logits-npy "$d/vit_logits.npy"
"$h" classify --checkpoint $vim --image $img --json > "$d/classify.json"
"$h" classify --checkpoint $vit --image $img --json > "$d/vit_classify.json"
q "$h" explain --checkpoint $vim --image $img --variant exact --query 5 --start-layer 2 --class 3 --out "$d/exact_q5"
q "$h" explain --checkpoint $vim --image $img --method unified,random --query 7 --seed 4 --out "$d/unified_q7"
q "$h" explain --checkpoint $vit --image $img --start-layer 0 --class 2 --seed 3 --out "$d/vit_s0"
for dir in fwd bwd; do q "$h" attention --checkpoint $vim --image $img --layer 1 --direction $dir --channels 2:9 --out "$d/attention_$dir"; done
q "$h" attention --checkpoint $vit --image $img --layer 1 --out "$d/vit_attention"
"$h" similarity --checkpoint $vim --image $img --json > "$d/similarity.json"
"$h" similarity --checkpoint $vit --image $img --json > "$d/vit_similarity.json"
for kind in perturbation segmentation; do
  q "$h" eval $kind --checkpoint $vim --limit 3 --batch 2 --out "$d/eval_$kind"
  q "$h" eval $kind --checkpoint $vit --limit 2 --out "$d/vit_eval_$kind"
done
q "$h" eval accuracy --checkpoint $vim --limit 20 --out "$d/eval_accuracy"
q "$h" explore --checkpoint $vim --compare $vit --images $img --out "$d/explore"
for m in mamba1 mamba2; do
  q "$h" lm explain --model models/weights/recall_$m --text "$text" --query 9 --target 5 --start-layer 0 --seed 2 \
    --out "$d/lm_explain_q9_$m"
  q "$h" lm attention --model models/weights/recall_$m --text "$text" --layer 1 --channels 1:3 --out "$d/lm_attention_$m"
  q "$h" lm eval --model models/weights/recall_$m --count 6 --pairs 4 --out "$d/lm_eval_$m"
done
