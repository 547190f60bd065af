#!/usr/bin/env bash
# End-to-end checks of the hattn command line: outputs, exit statuses (0 ok, 2 bad usage/input), one-line
# errors, no half-written files. Usage: test_cli.sh HATTN_BINARY TEST_DATA_DIR
set -u
hattn=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
skipped=0
ckpt=$data/vim_ref/vim_ref.pth
img=$data/images/src_wide.png

check() {  # check NAME EXPECTED_STATUS COMMAND...
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL $name: exit $got, expected $want"; cat "$tmp/err"; failures=$((failures + 1))
  else
    echo "ok   $name (exit $got)"
  fi
}
same_results() {  # same_results A.json B.json: equal but for the provenance record (the commands differ)
  cmp -s <(sed '/"provenance"/,$d' "$1") <(sed '/"provenance"/,$d' "$2")
}
same_numbers() {  # same_numbers A.json B.json: the same text, numbers within 1e-7 relative (sums in another order, then
  # printed to 9 digits: one unit of the last digit apart at most)
  local a b
  a=$(sed '/"provenance"/,$d' "$1") b=$(sed '/"provenance"/,$d' "$2")
  [[ $(sed -E 's/[-0-9.e+]+[0-9]/#/g' <<<"$a") == $(sed -E 's/[-0-9.e+]+[0-9]/#/g' <<<"$b") ]] || return 1
  paste <(grep -oE '[-0-9.e+]+[0-9]' <<<"$a") <(grep -oE '[-0-9.e+]+[0-9]' <<<"$b") |
    awk '{ d = $1 - $2; if (d < 0) d = -d; m = ($1 < 0 ? -$1 : $1); if (d > 1e-7 * (m > 1 ? m : 1)) bad = 1 } END { exit bad }'
}
expect_in() {  # expect_in NAME FILE TEXT
  if ! grep -qF -- "$3" "$2"; then echo "FAIL $1: '$3' not in output:"; cat "$2"; failures=$((failures + 1)); fi
}

check "classify" 0 "$hattn" classify --checkpoint "$ckpt" --image "$img" --topk 3
expect_in "classify table" "$tmp/out" "rank"
check "classify --json" 0 "$hattn" classify --checkpoint "$ckpt" --image "$img" --json --logits-npy "$tmp/logits.npy"
expect_in "json top" "$tmp/out" '{"top": [{"class": '
expect_in "json config" "$tmp/out" '"config": {"d_model": 64'
[[ -f "$tmp/logits.npy" ]] || { echo "FAIL logits.npy not written"; failures=$((failures + 1)); }
ls "$tmp" | grep -q '\.tmp$' && { echo "FAIL a temporary file was left behind"; failures=$((failures + 1)); }
for mode in crop vim-eval squash; do
  check "classify --preprocess $mode" 0 "$hattn" classify --checkpoint "$ckpt" --image "$data/images/src_small.png" --preprocess $mode
done
check "classify with --stride" 0 "$hattn" classify --checkpoint "$ckpt" --image "$img" --stride 8
expect_in "stride 8 image size" "$tmp/out" "img=40"
check "info" 0 "$hattn" info --checkpoint "$ckpt"
expect_in "info resolved" "$tmp/out" "from the checkpoint's args.input_size"
expect_in "info parameters" "$tmp/out" "parameters  278504"
check "init tiny stride 8" 0 "$hattn" init --config tiny --stride 8 --seed 3 --out "$tmp/init.safetensors"
check "info of init" 0 "$hattn" info --checkpoint "$tmp/init.safetensors"
expect_in "init resolved config" "$tmp/out" "stride=8"
check "init bad config" 2 "$hattn" init --config huge --out "$tmp/never.safetensors"
check "init bad stride" 2 "$hattn" init --stride 0 --out "$tmp/never.safetensors"
check "init unwritable" 2 "$hattn" init --out /proc/none/x.safetensors
[[ -e "$tmp/never.safetensors" ]] && { echo "FAIL init wrote a file after bad usage"; failures=$((failures + 1)); }
check "bad --device" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --device gpu
expect_in "bad --device names it" "$tmp/err" "--device gpu: unknown device 'gpu'"
check "help" 0 "$hattn" classify --help
expect_in "help text" "$tmp/out" "--preprocess"

for f in pickle_list_cycle pickle_dict_grown_after_placed; do  # crashed hattn (SIGSEGV) before the cycle check
  check "info on $f" 2 "$hattn" info --checkpoint "$data/hostile/$f.pth"
  expect_in "$f named" "$tmp/err" "$f.pth"
  check "classify on $f" 2 "$hattn" classify --checkpoint "$data/hostile/$f.pth" --image "$img"
done

check "no command" 2 "$hattn"
check "unknown command" 2 "$hattn" frobnicate
check "unknown option" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --colour red
check "missing --image" 2 "$hattn" classify --checkpoint "$ckpt"
check "bad --topk" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --topk many
check "bad --preprocess" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --preprocess stretch
check "missing image file" 2 "$hattn" classify --checkpoint "$ckpt" --image "$tmp/none.jpg"
expect_in "error names the file" "$tmp/err" "none.jpg"
echo "not an image" >"$tmp/text.png"
check "unreadable image" 2 "$hattn" classify --checkpoint "$ckpt" --image "$tmp/text.png"
check "malicious checkpoint" 2 "$hattn" info --checkpoint "$data/vim_ref/bad_global.pth"
expect_in "refusal named" "$tmp/err" "refused global"
check "truncated checkpoint" 2 "$hattn" classify --checkpoint "$data/vim_ref/bad_magic.pth" --image "$img"
[[ $(wc -l <"$tmp/err") -eq 1 ]] || { echo "FAIL errors should be one line"; failures=$((failures + 1)); }
check "no --logits-npy left on failure" 2 "$hattn" classify --checkpoint "$ckpt" --image "$tmp/text.png" --logits-npy "$tmp/never.npy"
[[ ! -e "$tmp/never.npy" ]] || { echo "FAIL wrote output despite failing"; failures=$((failures + 1)); }

# explain and attention
m197=$data/vim_197/model.pth
check "explain all" 0 "$hattn" explain --checkpoint "$m197" --image "$img" --out "$tmp/ex"
for meth in raw rollout attr unified random saliency gradxinput lrp; do
  for ext in npy png; do
    [[ -s "$tmp/ex/$meth.$ext" ]] || { echo "FAIL explain wrote no $meth.$ext"; failures=$((failures + 1)); }
  done
done
[[ -s "$tmp/ex/panel.png" ]] || { echo "FAIL explain wrote no panel.png"; failures=$((failures + 1)); }
# a 14x14 float32 map: 128-byte header + 784 bytes
[[ $(stat -c %s "$tmp/ex/raw.npy") -eq $((128 + 14 * 14 * 4)) ]] || { echo "FAIL raw.npy is not float32 [14, 14]"; failures=$((failures + 1)); }
check "explain exact attr" 0 "$hattn" explain --checkpoint "$ckpt" --image "$img" --method attr --variant exact --class 3 --start-layer 1 --out "$tmp/ex2"
[[ -s "$tmp/ex2/attr.npy" && ! -e "$tmp/ex2/panel.png" ]] || { echo "FAIL single method output"; failures=$((failures + 1)); }
check "explain bad method" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --method lime
check "explain bad variant" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --variant fuzzy
check "explain bad class" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --class 1000
check "explain bad start layer" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --start-layer 4
check "attention" 0 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 2 --direction fwd --channels 3:7 --out "$tmp/att"
[[ $(stat -c %s "$tmp/att/attn_l2_fwd.npy") -eq $((128 + 4 * 17 * 17 * 4)) ]] || { echo "FAIL attn npy is not float32 [4, 17, 17]"; failures=$((failures + 1)); }
[[ -s "$tmp/att/attn_l2_fwd.png" ]] || { echo "FAIL attention wrote no picture"; failures=$((failures + 1)); }
check "attention first-k" 0 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 1 --first-k 5 --out "$tmp/att"
check "attention all channels" 0 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 0 --out "$tmp/att"
check "attention bad layer" 2 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 4
check "attention bad channels" 2 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 0 --channels 7:3
check "attention malformed channels" 2 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 0 --channels 3-7
check "attention bad direction" 2 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 0 --direction up

# data export, evaluation, sharding, metrics (a 2-layer model trained for 3 steps: fast, not accurate)
fm=/usr/share/datasets/fashion-mnist
if [[ -d $fm ]]; then
  check "train 3 steps" 0 "$hattn" train --out "$tmp/tr" --width 16 --depth 2 --max-steps 3 --eval-limit 8 --limit 96
  small=$tmp/tr/model.safetensors
  check "info of a trained Vim" 0 "$hattn" info --checkpoint "$small"  # named like an LM's weights, no config.json
  expect_in "trained Vim info" "$tmp/out" "Vim D=16 depth=2"
  check "resume" 0 "$hattn" train --out "$tmp/tr" --width 16 --depth 2 --max-steps 1 --eval-limit 8 --limit 96 --resume
  expect_in "resumed" "$tmp/err" "resumed at step 3"
  check "train a ViT 3 steps" 0 "$hattn" train --arch vit --out "$tmp/trv" --width 32 --depth 2 --max-steps 3 --eval-limit 8 --limit 96
  check "resume the ViT" 0 "$hattn" train --arch vit --out "$tmp/trv" --width 32 --depth 2 --max-steps 1 --eval-limit 8 --limit 96 --resume
  expect_in "ViT resumed" "$tmp/err" "resumed at step 3"
  check "classify with the trained ViT" 0 "$hattn" classify --checkpoint "$tmp/trv/model.safetensors" --image "$img" --json
  expect_in "trained ViT config" "$tmp/out" '"family": "vit", "d_model": 32, "depth": 2, "heads": 1'
  check "train --heads on vim" 2 "$hattn" train --out "$tmp/trx" --heads 2 --max-steps 1
  check "eval segmentation on a ViT" 0 "$hattn" eval segmentation --checkpoint "$tmp/trv/model.safetensors" --limit 2 --out "$tmp/vseg"
  expect_in "ViT methods in results.json" "$tmp/vseg/results.json" '"attr": {"pixel_accuracy": '
  check "eval perturbation on a ViT" 0 "$hattn" eval perturbation --checkpoint "$tmp/trv/model.safetensors" --limit 1 --methods attr,gae --out "$tmp/vper"
  check "ViT method with a variant" 2 "$hattn" eval segmentation --checkpoint "$tmp/trv/model.safetensors" --limit 1 --methods attr:exact
  check "cluttered export" 0 "$hattn" cluttered --count 3 --out "$tmp/cl"
  [[ -s "$tmp/cl/test_2_mask.png" && $(wc -l <"$tmp/cl/labels.txt") -eq 3 ]] || { echo "FAIL cluttered export"; failures=$((failures + 1)); }
  check "eval perturbation" 0 "$hattn" eval perturbation --checkpoint "$small" --limit 4 --methods raw,attr:exact,saliency --out "$tmp/ev"
  expect_in "perturbation table" "$tmp/ev/results.md" "| attr (exact) |"
  [[ -s "$tmp/ev/perturbation_positive.svg" ]] || { echo "FAIL no SVG curves"; failures=$((failures + 1)); }
  # several images per explanation pass: the same counts as one at a time
  check "eval perturbation --batch 3" 0 "$hattn" eval perturbation --checkpoint "$small" --limit 4 --methods raw,attr:exact,saliency --batch 3 --out "$tmp/evb"
  cmp -s "$tmp/ev/perturbation.csv" "$tmp/evb/perturbation.csv" || { echo "FAIL --batch 3 differs from batch 1"; failures=$((failures + 1)); }
  check "eval shard 0/2" 0 "$hattn" eval perturbation --checkpoint "$small" --limit 4 --methods raw,attr:exact,saliency --shard 0/2 --out "$tmp/s0"
  # a shard stopped half-way (as a killed job would be) refuses to merge, then continues where it stopped
  check "eval shard 1/2, 1 image" 0 "$hattn" eval perturbation --checkpoint "$small" --limit 4 --methods raw,attr:exact,saliency --shard 1/2 --out "$tmp/s1" --max-images 1
  check "merge refuses an unfinished shard" 2 "$hattn" eval merge --inputs "$tmp/s0,$tmp/s1" --out "$tmp/merged"
  expect_in "unfinished shard named" "$tmp/err" "unfinished shard"
  check "eval shard 1/2 resumed" 0 "$hattn" eval perturbation --checkpoint "$small" --limit 4 --methods raw,attr:exact,saliency --shard 1/2 --out "$tmp/s1"
  expect_in "resumed" "$tmp/err" "resuming: 1 of this shard's 2 images are done"
  check "eval merge" 0 "$hattn" eval merge --inputs "$tmp/s0,$tmp/s1" --out "$tmp/merged"
  cmp -s "$tmp/ev/perturbation.csv" "$tmp/merged/perturbation.csv" || { echo "FAIL merged shards differ from one run"; failures=$((failures + 1)); }
  check "eval segmentation" 0 "$hattn" eval segmentation --checkpoint "$small" --limit 3 --methods unified,random --out "$tmp/seg"
  expect_in "segmentation table" "$tmp/seg/results.md" "| unified |"
  check "eval segmentation --batch 2" 0 "$hattn" eval segmentation --checkpoint "$small" --limit 3 --methods unified,random --batch 2 --out "$tmp/segb"
  cmp -s "$tmp/seg/segmentation.csv" "$tmp/segb/segmentation.csv" || { echo "FAIL segmentation --batch 2 differs from batch 1"; failures=$((failures + 1)); }
  check "eval on a folder" 0 "$hattn" eval accuracy --checkpoint "$small" --images "$tmp/cl" --labels "$tmp/cl/labels.txt" --out "$tmp/acc"
  # the same images in ImageNet val's other layouts give the same result: ImageFolder, and Kaggle's CSV + synsets
  for k in 0 1 2 3 4 5 6 7 8 9; do echo "n0000000$k class $k" >>"$tmp/synsets.txt"; done
  echo "ImageId,PredictionString" >"$tmp/kaggle.csv"
  mkdir -p "$tmp/kg"
  while read -r f label; do
    mkdir -p "$tmp/if/n0000000$label" && cp "$tmp/cl/$f" "$tmp/if/n0000000$label/$f"
    cp "$tmp/cl/$f" "$tmp/kg/${f%.png}.JPEG" && echo "${f%.png},n0000000$label 1 2 30 40" >>"$tmp/kaggle.csv"
  done <"$tmp/cl/labels.txt"
  check "eval ImageFolder" 0 "$hattn" eval accuracy --checkpoint "$small" --images "$tmp/if" --out "$tmp/acc_if"
  check "eval Kaggle layout" 0 "$hattn" eval accuracy --checkpoint "$small" --images "$tmp/kg" --labels "$tmp/kaggle.csv" \
    --synsets "$tmp/synsets.txt" --out "$tmp/acc_kg"
  for d in acc_if acc_kg; do
    same_results "$tmp/acc/results.json" "$tmp/$d/results.json" || { echo "FAIL $d differs from the flat layout"; failures=$((failures + 1)); }
  done
  check "eval Kaggle without synsets" 2 "$hattn" eval accuracy --checkpoint "$small" --images "$tmp/kg" --labels "$tmp/kaggle.csv"
  check "eval bad shard" 2 "$hattn" eval perturbation --checkpoint "$small" --shard 2/2
  check "eval bad kind" 2 "$hattn" eval fidelity --checkpoint "$small"
  check "influence" 0 "$hattn" influence --checkpoint "$small" --limit 2 --out "$tmp/inf"
else
  echo "SKIP training, export, evaluation and sharding checks: $fm is missing (Debian's dataset-fashion-mnist)"
  skipped=1
fi
# the perturbation test's fills and the paper's ablations change the scores, not the protocol
bundled_vim=$(dirname "$data")/../models/weights/vim_cluttered.safetensors
for fill in blur mean; do
  check "eval perturbation --perturb $fill" 0 "$hattn" eval perturbation --checkpoint "$bundled_vim" \
    --limit 1 --methods attr:exact --perturb $fill --out "$tmp/perturb_$fill"
  expect_in "perturb $fill results" "$tmp/perturb_$fill/results.json" '"attr:exact": {"positive_auc": '
done
check "--perturb on segmentation" 2 "$hattn" eval segmentation --checkpoint "$bundled_vim" \
  --limit 1 --perturb blur --out "$tmp/perturb_seg"
check "explain with ablations" 0 "$hattn" explain --checkpoint "$ckpt" --image "$img" --method rollout,attr \
  --aggregate max --discard 0.3 --clamp abs --out "$tmp/ablate"
check "a bad --discard" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --method rollout --discard 1.5
check "ablations on a ViT" 2 "$hattn" explain --checkpoint "$data/vit_ref/vit.pth" --heads 3 --image "$img" \
  --method rollout --aggregate max

# ViT / DeiT checkpoints (timm's layout), through the same commands; what they lack is refused
vit=$data/vit_ref/vit.pth
check "classify a ViT" 0 "$hattn" classify --checkpoint "$vit" --heads 3 --image "$img" --json
expect_in "vit config" "$tmp/out" '"family": "vit", "d_model": 48, "depth": 2, "heads": 3'
check "classify a distilled DeiT" 0 "$hattn" classify --checkpoint "$data/vit_ref/deit_dist.pth" --heads 3 --image "$img"
check "info of a ViT" 0 "$hattn" info --checkpoint "$vit" --heads 3
expect_in "vit info" "$tmp/out" "ViT D=48 depth=2 heads=3"
check "ViT with --stride" 2 "$hattn" classify --checkpoint "$vit" --heads 3 --image "$img" --stride 8
check "ViT heads not dividing" 2 "$hattn" classify --checkpoint "$vit" --heads 5 --image "$img"
check "explain a ViT" 0 "$hattn" explain --checkpoint "$vit" --heads 3 --image "$img" --out "$tmp/vex"
for meth in raw rollout attr gae random saliency gradxinput; do
  [[ $(stat -c %s "$tmp/vex/$meth.npy" 2>/dev/null) -eq $((128 + 4 * 4 * 4)) ]] || { echo "FAIL ViT $meth.npy is not float32 [4, 4]"; failures=$((failures + 1)); }
done
check "ViT attr" 0 "$hattn" explain --checkpoint "$vit" --heads 3 --image "$img" --method attr --out "$tmp/vex2"
check "distilled DeiT explain refused" 2 "$hattn" explain --checkpoint "$data/vit_ref/deit_dist.pth" --heads 3 --image "$img"
check "ViT with --variant" 2 "$hattn" explain --checkpoint "$vit" --heads 3 --image "$img" --variant exact --out "$tmp/vex2"
check "gae on Vim" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --method gae --out "$tmp/vex2"
check "lrp on a ViT" 2 "$hattn" explain --checkpoint "$vit" --heads 3 --image "$img" --method lrp --out "$tmp/vex2"
check "lrp exact on Vim" 0 "$hattn" explain --checkpoint "$ckpt" --image "$img" --method lrp --variant exact --out "$tmp/lrpx"
check "attention on a ViT" 0 "$hattn" attention --checkpoint "$vit" --heads 3 --image "$img" --layer 1 --out "$tmp/vatt"
[[ $(stat -c %s "$tmp/vatt/attn_l1.npy" 2>/dev/null) -eq $((128 + 3 * 17 * 17 * 4)) ]] || { echo "FAIL ViT attn_l1.npy is not float32 [3, 17, 17]"; failures=$((failures + 1)); }
check "similarity of a ViT" 0 "$hattn" similarity --checkpoint "$vit" --heads 3 --image "$img" --json
expect_in "similarity json" "$tmp/out" '{"layers": ['
check "similarity of a Vim" 0 "$hattn" similarity --checkpoint "$ckpt" --images "$data/gtsegs" --limit 2
expect_in "similarity table" "$tmp/out" "block  3"
check "similarity without images" 2 "$hattn" similarity --checkpoint "$ckpt"
check "ViT attention with --channels" 2 "$hattn" attention --checkpoint "$vit" --heads 3 --image "$img" --layer 1 --channels 0:2
check "Vim with --normalize half" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --normalize half

# the explorer page: its two files, the data naming the image, bad usage refused
check "explore" 0 "$hattn" explore --checkpoint "$ckpt" --images "$img" --labels 3 --out "$tmp/xp"
[[ -s "$tmp/xp/index.html" && -s "$tmp/xp/explorer_data.js" ]] || { echo "FAIL explore wrote no page"; failures=$((failures + 1)); }
expect_in "explore data" "$tmp/xp/explorer_data.js" '"name": "src_wide.png", "label": 3'
check "explore a Vim beside a ViT" 0 "$hattn" explore --checkpoint "$ckpt" --compare "$vit" --heads 3 --images "$img" --out "$tmp/xpc"
expect_in "explore both models" "$tmp/xpc/explorer_data.js" '{"family": "vit", "path": '
check "explore labels mismatch" 2 "$hattn" explore --checkpoint "$ckpt" --images "$img,$img" --labels 3 --out "$tmp/xp2"
check "explore missing image" 2 "$hattn" explore --checkpoint "$ckpt" --images "$tmp/none.png" --out "$tmp/xp3"

# ImageNet-Segmentation's .mat layout gives what the same images and masks as PNGs give; results.json
check "eval segmentation --mat" 0 "$hattn" eval segmentation --checkpoint "$ckpt" --mat "$data/gtsegs/small.mat" \
  --methods attr,unified,random --out "$tmp/segmat"
check "eval segmentation pngs" 0 "$hattn" eval segmentation --checkpoint "$ckpt" --images "$data/gtsegs" \
  --methods attr,unified,random --out "$tmp/segpng"
same_results "$tmp/segmat/results.json" "$tmp/segpng/results.json" || { echo "FAIL .mat and PNG segmentation differ"; failures=$((failures + 1)); }
expect_in "results.json" "$tmp/segmat/results.json" '"attr:official": {"pixel_accuracy": '
check "eval perturbation --mat" 2 "$hattn" eval perturbation --checkpoint "$ckpt" --mat "$data/gtsegs/small.mat"
check "eval segmentation not a .mat" 2 "$hattn" eval segmentation --checkpoint "$ckpt" --mat "$img"
expect_in "not a .mat names it" "$tmp/err" "src_wide.png"

# misuse: a directory instead of a file, an output folder that cannot be created
check "checkpoint is a directory" 2 "$hattn" classify --checkpoint "$data" --image "$img"
expect_in "says directory" "$tmp/err" "is a directory"
check "image is a directory" 2 "$hattn" explain --checkpoint "$ckpt" --image "$data"
touch "$tmp/afile"
check "unwritable output" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --out "$tmp/afile/sub"
expect_in "output error" "$tmp/err" "cannot create output folder"
check "attention unwritable output" 2 "$hattn" attention --checkpoint "$ckpt" --image "$img" --layer 0 --out "$tmp/afile/sub"

# the hand-computed example of tests/test_metrics.cpp: maps (0, 1, 3, 4), mask (0, 1, 1, 1)
check "metrics" 0 "$hattn" metrics segmentation --maps "$data/metrics/maps.npy" --masks "$data/metrics/masks.npy" --json
expect_in "metrics json" "$tmp/out" '{"pixel_accuracy": 0.75, "miou": 0.583333333, "map": 0.854166667, "mf1": 0.8, "images": 1}'
check "metrics mismatched" 2 "$hattn" metrics segmentation --maps "$data/metrics/maps.npy" --masks "$data/vim_ref/top.npy"
check "metrics bad maps" 2 "$hattn" metrics segmentation --maps "$tmp/none.npy" --masks "$tmp/none.npy"

# Vim --query: another token's row (exact variant, unified); the official variant refuses it
check "explain --query exact" 0 "$hattn" explain --checkpoint "$ckpt" --image "$img" --variant exact --query 3 --method raw,attr --out "$tmp/q3"
check "explain --query official" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --query 3 --method raw
check "explain --query unified" 0 "$hattn" explain --checkpoint "$ckpt" --image "$img" --query 3 --method unified --out "$tmp/q3u"
check "explain --query outside" 2 "$hattn" explain --checkpoint "$ckpt" --image "$img" --variant exact --query 17

# Mamba language models: both layouts of the same weights give the same logits; generation; bad ids
lm=$data/lm_ref
check "lm logits (HF layout)" 0 "$hattn" lm logits --model "$lm/mamba1_hf" --ids 1,2,3,4,5 --logits-npy "$tmp/lm_hf.npy"
expect_in "lm logits table" "$tmp/out" "rank  token"
check "lm logits (state-spaces layout)" 0 "$hattn" lm logits --model "$lm/mamba1_ss/pytorch_model.bin" --ids 1,2,3,4,5 \
  --logits-npy "$tmp/lm_ss.npy"
[[ $(stat -c %s "$tmp/lm_hf.npy" 2>/dev/null) -eq $((128 + 5 * 40 * 4)) ]] || { echo "FAIL lm logits.npy is not float32 [5, 40]"; failures=$((failures + 1)); }
cmp -s "$tmp/lm_hf.npy" "$tmp/lm_ss.npy" || { echo "FAIL the two layouts give different logits"; failures=$((failures + 1)); }
check "lm generate (Mamba-2, shards)" 0 "$hattn" lm generate --model "$lm/mamba2_hf" --ids 1,2,3 --max-new-tokens 5
[[ $(tr -cd , <"$tmp/out" | wc -c) -eq 4 ]] || { echo "FAIL lm generate did not print 5 ids"; cat "$tmp/out"; failures=$((failures + 1)); }
check "lm info" 0 "$hattn" info --checkpoint "$lm/mamba2_ss"
expect_in "lm info config" "$tmp/out" "Mamba-2 LM D=16 layers=3 vocab=40 E=32 N=8 conv=4 heads=4 headdim=8 groups=2"
check "lm generate sampled" 0 "$hattn" lm generate --model "$lm/mamba2_hf" --ids 1,2,3 --max-new-tokens 6 \
  --temperature 1.2 --top-k 10 --top-p 0.9 --seed 5
cp "$tmp/out" "$tmp/sampled1"
check "lm generate sampled again" 0 "$hattn" lm generate --model "$lm/mamba2_hf" --ids 1,2,3 --max-new-tokens 6 \
  --temperature 1.2 --top-k 10 --top-p 0.9 --seed 5
cmp -s "$tmp/out" "$tmp/sampled1" || { echo "FAIL equal seeds gave different continuations"; failures=$((failures + 1)); }
check "lm generate bad --top-p" 2 "$hattn" lm generate --model "$lm/mamba2_hf" --ids 1,2,3 --top-p 0
check "lm id outside the vocabulary" 2 "$hattn" lm logits --model "$lm/mamba2_ss" --ids 1,40
expect_in "lm id names the position" "$tmp/err" "token 40 at position 1"
check "lm bad ids" 2 "$hattn" lm generate --model "$lm/mamba2_ss" --ids 1,x
check "lm folder without weights" 2 "$hattn" lm logits --model "$data/images" --ids 1
check "lm unknown command" 2 "$hattn" lm tokenise
check "init deit-tiny" 0 "$hattn" init --config deit-tiny --out "$tmp/deit_tiny.safetensors"
check "info of the initialised DeiT" 0 "$hattn" info --checkpoint "$tmp/deit_tiny.safetensors"
expect_in "init deit-tiny config" "$tmp/out" "ViT D=192 depth=12 heads=3"
check "init unknown config" 2 "$hattn" init --config mamba-7b --out "$tmp/x"
check "lm attention (Mamba-2 heads)" 0 "$hattn" lm attention --model "$lm/mamba2_ss" --ids 1,2,3,4,5,6 --layer 2 --out "$tmp/lma"
[[ $(stat -c %s "$tmp/lma/attn_l2.npy" 2>/dev/null) -eq $((128 + 4 * 6 * 6 * 4)) ]] || { echo "FAIL lm attn_l2.npy is not float32 [4, 6, 6]"; failures=$((failures + 1)); }
[[ -s "$tmp/lma/attn_l2.png" ]] || { echo "FAIL lm attention picture"; failures=$((failures + 1)); }
check "lm attention channels" 0 "$hattn" lm attention --model "$lm/mamba1_hf" --ids 1,2,3 --layer 0 --channels 4:7 --out "$tmp/lma1"
[[ $(stat -c %s "$tmp/lma1/attn_l0.npy" 2>/dev/null) -eq $((128 + 3 * 3 * 3 * 4)) ]] || { echo "FAIL lm attn_l0.npy is not float32 [3, 3, 3]"; failures=$((failures + 1)); }
check "lm attention --mean" 0 "$hattn" lm attention --model "$lm/mamba2_ss" --ids 1,2,3,4,5,6 --layer 2 --mean --out "$tmp/lmam"
[[ $(stat -c %s "$tmp/lmam/attn_l2_mean.npy" 2>/dev/null) -eq $((128 + 6 * 6 * 4)) ]] || { echo "FAIL lm attn_l2_mean.npy is not float32 [1, 6, 6]"; failures=$((failures + 1)); }
check "lm attention bad layer" 2 "$hattn" lm attention --model "$lm/mamba1_hf" --ids 1,2,3 --layer 3
check "lm explain all" 0 "$hattn" lm explain --model "$lm/mamba1_hf" --ids 1,2,3,4,5,6,7 --query 4 --out "$tmp/lmx"
for m in raw rollout attr unified random saliency gradxinput lrp; do
  for ext in npy html png; do [[ -s "$tmp/lmx/$m.$ext" ]] || { echo "FAIL lm explain $m.$ext missing"; failures=$((failures + 1)); }; done
done
[[ $(stat -c %s "$tmp/lmx/attr.npy" 2>/dev/null) -eq $((128 + 7 * 4)) ]] || { echo "FAIL lm attr.npy is not float32 [7]"; failures=$((failures + 1)); }
neox=$data/neox_ref/parallel
check "lm logits GPT-NeoX" 0 "$hattn" lm logits --model "$neox" --ids 1,2,3,4 --logits-npy "$tmp/neox_logits.npy"
[[ $(stat -c %s "$tmp/neox_logits.npy" 2>/dev/null) -eq $((128 + 4 * 50 * 4)) ]] || { echo "FAIL GPT-NeoX logits are not float32 [4, 50]"; failures=$((failures + 1)); }
check "lm explain GPT-NeoX" 0 "$hattn" lm explain --model "$neox" --ids 1,2,3,4,5 --out "$tmp/neox_x"
for m in raw rollout attr gae random saliency gradxinput; do
  [[ -s "$tmp/neox_x/$m.npy" ]] || { echo "FAIL lm explain GPT-NeoX wrote no $m.npy"; failures=$((failures + 1)); }
done
check "lm attention GPT-NeoX" 0 "$hattn" lm attention --model "$neox" --ids 1,2,3,4,5 --layer 2 --out "$tmp/neox_a"
[[ $(stat -c %s "$tmp/neox_a/attn_l2.npy" 2>/dev/null) -eq $((128 + 4 * 5 * 5 * 4)) ]] || { echo "FAIL GPT-NeoX attn_l2.npy is not float32 [4, 5, 5]"; failures=$((failures + 1)); }
check "GPT-NeoX lrp refused" 2 "$hattn" lm explain --model "$neox" --ids 1,2,3 --method lrp
check "lm generate GPT-NeoX" 0 "$hattn" lm generate --model "$neox" --ids 1,2,3 --max-new-tokens 4
[[ $(tr ',' '\n' < "$tmp/out" | grep -c '^[0-9]') -eq 4 ]] || { echo "FAIL lm generate GPT-NeoX did not print 4 ids"; failures=$((failures + 1)); }
check "lm explain unified on Mamba-2" 2 "$hattn" lm explain --model "$lm/mamba2_hf" --ids 1,2,3 --method unified
bert=$data/bert_ref/tiny  # ships vocab.txt + tokenizer_config.json only
check "lm classify BERT" 0 "$hattn" lm classify --model "$bert" --text "Hello, world!" --json
expect_in "lm classify JSON" "$tmp/out" '{"top": [{"class": '
expect_in "lm classify labels" "$tmp/out" '"label": "neutral"'
check "lm classify --max-tokens" 0 "$hattn" lm classify --model "$bert" --text "this is a test of a long text" --max-tokens 4 --json
expect_in "lm classify truncated" "$tmp/out" '"tokens": 4}'
check "lm classify on a language model" 2 "$hattn" lm classify --model "$neox" --ids 1,2,3
check "lm logits BERT refused" 2 "$hattn" lm logits --model "$bert" --text "hi"
expect_in "lm logits BERT says why" "$tmp/err" "predicts classes"
check "lm generate BERT refused" 2 "$hattn" lm generate --model "$bert" --text "hi"
check "lm explain BERT" 0 "$hattn" lm explain --model "$bert" --text "Hello, world!" --target positive --out "$tmp/bert_x"
for m in raw rollout attr gae random saliency gradxinput; do
  [[ -s "$tmp/bert_x/$m.npy" ]] || { echo "FAIL lm explain BERT wrote no $m.npy"; failures=$((failures + 1)); }
done
expect_in "lm explain BERT target" "$tmp/err" "target 2"
check "lm explain BERT query refused" 2 "$hattn" lm explain --model "$bert" --text "Hello, world!" --query 2
check "lm explain BERT bad class" 2 "$hattn" lm explain --model "$bert" --text "Hello" --target happy
check "lm explain BERT lrp refused" 2 "$hattn" lm explain --model "$bert" --text "Hello" --method lrp
check "lm attention BERT" 0 "$hattn" lm attention --model "$bert" --ids 2,10,11,3 --layer 1 --out "$tmp/bert_a"
[[ $(stat -c %s "$tmp/bert_a/attn_l1.npy" 2>/dev/null) -eq $((128 + 4 * 4 * 4 * 4)) ]] || { echo "FAIL BERT attn_l1.npy is not float32 [4, 4, 4]"; failures=$((failures + 1)); }
check "info BERT" 0 "$hattn" info --checkpoint "$bert"
expect_in "info BERT classes" "$tmp/out" "negative, neutral, positive"
cls=$data/classifier_ref
check "lm classify Mamba-2 (MambaLRP's layout)" 0 "$hattn" lm classify --model "$cls/mamba2" --ids 1,2,3,4 --json
expect_in "lm classify Mamba-2 labels" "$tmp/out" '"label": "maybe"'
check "lm classify GPT-NeoX" 0 "$hattn" lm classify --model "$cls/neox" --ids 1,2,3,4
check "lm generate Mamba classifier refused" 2 "$hattn" lm generate --model "$cls/mamba1" --ids 1,2,3
check "lm generate GPT-NeoX classifier refused" 2 "$hattn" lm generate --model "$cls/neox" --ids 1,2,3
check "lm logits Mamba classifier refused" 2 "$hattn" lm logits --model "$cls/mamba1" --ids 1,2,3
check "lm explain Mamba classifier" 0 "$hattn" lm explain --model "$cls/mamba1" --ids 1,2,3,4,5 --target yes --method attr,lrp --out "$tmp/cls_x"
check "lm explain decoder classifier query refused" 2 "$hattn" lm explain --model "$cls/mamba1" --ids 1,2,3,4,5 --query 2
check "lm tokenize WordPiece" 0 "$hattn" lm tokenize --tokenizer "$bert/vocab.txt" --text "Hello, world!" --json
expect_in "lm tokenize WordPiece specials" "$tmp/out" '"tokens": ["[CLS]", "hello", ",", "world", "!", "[SEP]"]'
tok=$data/text/neox_style.json
check "lm tokenize" 0 "$hattn" lm tokenize --tokenizer "$tok" --text "Café  naïve 😀 don't"
expect_in "lm tokenize ids" "$tmp/out" "437,1222,331,422,529,224,921,458"
check "lm tokenize --json" 0 "$hattn" lm tokenize --tokenizer "$tok" --text "don't" --json
expect_in "lm tokenize json" "$tmp/out" '{"ids": [1010,458], "tokens": ["don", "'"'"'t"]}'
printf 'Caf\xc3\xa9  na\xc3\xafve' >"$tmp/in.txt"
check "lm tokenize --text-file" 0 "$hattn" lm tokenize --tokenizer "$tok" --text-file "$tmp/in.txt"
expect_in "lm tokenize file" "$tmp/out" "437,1222,331,422"
check "lm detokenize" 0 "$hattn" lm detokenize --tokenizer "$tok" --ids 437,1222,331,422,529,224,921,458
expect_in "lm detokenize text" "$tmp/out" "Café  naïve 😀 don't"
check "lm tokenize invalid UTF-8" 2 "$hattn" lm tokenize --tokenizer "$tok" --text $'ok\xff'
expect_in "lm invalid UTF-8 offset" "$tmp/err" "invalid UTF-8 at byte 2"
check "lm text without a tokenizer" 2 "$hattn" lm logits --model "$lm/mamba1_hf" --text "hi"
expect_in "lm asks for a tokenizer" "$tmp/err" "--tokenizer"
check "lm text and ids" 2 "$hattn" lm logits --model "$lm/mamba1_hf" --text "hi" --ids 1
check "lm tokens outside the model" 2 "$hattn" lm logits --model "$lm/mamba1_hf" --text "hello" --tokenizer "$tok"
# hostile tokenizer.json and config.json: exit 2 with a line naming the file, never a crash (fuzzed as well:
# make fuzz FUZZ_TARGETS="tokenizer lm_config")
recall=$(dirname "$data")/../models/weights/recall_mamba1
deep=$(printf '%*s' 100000 '' | tr ' ' '[')
declare -A broken_json=(  # not JSON, or not an object: refused as tokenizer.json and as config.json
  [deep]="$deep"
  [truncated]='{"model": {"type": "BPE", "vocab": {"a": 1'
  [not_an_object]='[1, 2, 3]'
  [nul_bytes]=$'{"model":\x00}'
)
declare -A bad_tokenizer=(  # JSON objects that are no byte-level BPE
  [lone_surrogate]='{"model": {"type": "BPE", "vocab": {"\ud800": 0}, "merges": []}}'
  [wrong_types]='{"model": {"type": "BPE", "vocab": [], "merges": 5}}'
  [huge_id]='{"model": {"type": "BPE", "vocab": {"a": 1e999999}, "merges": []}}'
)
declare -A bad_config=(  # JSON objects whose statements cannot hold for a Mamba model
  [unknown_layer]='{"ssm_cfg": {"layer": "Mamba3"}}'
  [foreign_model_type]='{"model_type": "gpt2"}'
  [family_mismatch]='{"model_type": "mamba2"}'
  [negative_eps]='{"model_type": "mamba", "layer_norm_epsilon": -1}'
  [huge_state]='{"ssm_cfg": {"d_state": 1e999999}}'
)
write_lm() {  # write_lm NAME CONFIG: the bundled recall model's weights beside CONFIG
  mkdir -p "$tmp/cfg_$1"
  cp "$recall/model.safetensors" "$tmp/cfg_$1/"
  printf '%s' "$2" > "$tmp/cfg_$1/config.json"
}
for name in "${!broken_json[@]}" "${!bad_tokenizer[@]}"; do
  printf '%s' "${broken_json[$name]:-${bad_tokenizer[$name]}}" > "$tmp/tok_$name.json"
  check "hostile tokenizer.json ($name)" 2 "$hattn" lm tokenize --tokenizer "$tmp/tok_$name.json" --text hi
  expect_in "hostile tokenizer.json ($name) named" "$tmp/err" "tok_$name.json"
done
for name in "${!broken_json[@]}" "${!bad_config[@]}"; do
  write_lm "$name" "${broken_json[$name]:-${bad_config[$name]}}"
  check "hostile config.json ($name)" 2 "$hattn" lm logits --model "$tmp/cfg_$name" --ids 1,2
  expect_in "hostile config.json ($name) named" "$tmp/err" "config.json"
done
write_lm irrelevant '{"note": "nothing a loader reads"}'  # an object that says nothing: the shapes decide
check "config.json that says nothing" 0 "$hattn" lm logits --model "$tmp/cfg_irrelevant" --ids 1,2

# training on the recall task: a short run, its model folder read by the other commands, resume = uninterrupted
small=(--width 16 --layers 2 --d-state 4 --steps 20 --eval-every 10 --eval-count 20 --batch 8)
check "lm train" 0 "$hattn" lm train "${small[@]}" --out "$tmp/lt"
for f in config.json model.safetensors tokenizer.json last.safetensors; do
  [[ -s "$tmp/lt/$f" ]] || { echo "FAIL lm train wrote no $f"; failures=$((failures + 1)); }
done
check "lm train (stopped)" 0 "$hattn" lm train "${small[@]}" --out "$tmp/lt2" --max-steps 10
check "lm train (resumed)" 0 "$hattn" lm train "${small[@]}" --out "$tmp/lt2" --resume
cmp -s "$tmp/lt/model.safetensors" "$tmp/lt2/model.safetensors" || { echo "FAIL resumed training differs"; failures=$((failures + 1)); }
check "lm train lengthened on resume" 0 "$hattn" lm train --width 16 --layers 2 --d-state 4 --steps 24 --eval-every 10 --eval-count 20 --batch 8 --pairs 2:6 --out "$tmp/lt2" --resume
expect_in "lm train history" "$tmp/lt2/config.json" 'step 20: --pairs 4:10 -> 2:6, --steps 20 -> 24'
# a second resume appends; the same learning rate written another way is no change
check "lm train lengthened again" 0 "$hattn" lm train --width 16 --layers 2 --d-state 4 --steps 26 --eval-every 10 --eval-count 20 --batch 8 --pairs 2:6 --lr 3e-3 --out "$tmp/lt2" --resume
expect_in "lm train history appended" "$tmp/lt2/config.json" 'step 20: --pairs 4:10 -> 2:6, --steps 20 -> 24; step 24: --steps 24 -> 26"'
check "lm generate with the folder's tokenizer" 0 "$hattn" lm generate --model "$tmp/lt" --text "a3k7q1|k" --max-new-tokens 2
check "lm eval recall" 0 "$hattn" lm eval --model "$tmp/lt" --count 5 --pairs 4 --out "$tmp/le"
expect_in "lm eval results" "$tmp/le/results.json" '"attr": {"top1": '
# the other architectures and the sentiment task: short runs whose folders the other commands read
check "lm train GPT-NeoX recall" 0 "$hattn" lm train --arch gpt_neox --width 16 --heads 2 --layers 1 --steps 4 --eval-every 4 --eval-count 10 --batch 4 --out "$tmp/lt_neox"
check "lm generate GPT-NeoX trained" 0 "$hattn" lm generate --model "$tmp/lt_neox" --text "a3k7|k" --max-new-tokens 1
for a in bert mamba1 mamba2; do
  check "lm train sentiment $a" 0 "$hattn" lm train --task sentiment --arch $a --width 16 --heads 2 --layers 2 --d-state 4 --headdim 8 --steps 4 --eval-every 4 --eval-count 10 --batch 4 --out "$tmp/ls_$a"
  for f in config.json model.safetensors vocab.txt tokenizer_config.json; do
    [[ -s "$tmp/ls_$a/$f" ]] || { echo "FAIL lm train sentiment $a wrote no $f"; failures=$((failures + 1)); }
  done
  check "lm classify sentiment $a" 0 "$hattn" lm classify --model "$tmp/ls_$a" --text "the film was wonderful" --json
  expect_in "lm classify sentiment $a labels" "$tmp/out" '"label": "positive"'
done
check "lm eval sentiment" 0 "$hattn" lm eval --task sentiment --model "$tmp/ls_mamba1" --count 4 --out "$tmp/les"
expect_in "lm eval sentiment results" "$tmp/les/results.json" '"lrp": {"top1": '
check "lm eval activation on the sentiment set" 0 "$hattn" lm eval --task activation --model "$tmp/ls_bert" --data sentiment --limit 3 --methods attr --out "$tmp/lesa"
check "lm train bert on recall" 2 "$hattn" lm train --task recall --arch bert --out "$tmp/x"
check "lm eval sentiment on a language model" 2 "$hattn" lm eval --task sentiment --model "$tmp/lt" --count 2
# the text protocols: IMDb with a classifier, ARC-Easy with a language model; shards merge to the whole run, and a
# run stopped by --max-items continues to the same counts
imdb=$data/text_tasks/aclImdb
arc=$data/text_tasks/arc_easy.jsonl
check "lm eval activation (IMDb, BERT)" 0 "$hattn" lm eval --task activation --model "$bert" --data "$imdb" --methods attr,rollout,random --out "$tmp/lea"
expect_in "lm eval activation AUAC" "$tmp/lea/results.json" '"attr": {"auac": '
expect_in "lm eval activation accuracy" "$tmp/lea/results.json" '"accuracy": {"accuracy": '
[[ -s "$tmp/lea/curves.svg" && -s "$tmp/lea/curves.csv" ]] || { echo "FAIL lm eval activation wrote no curves"; failures=$((failures + 1)); }
for i in 0 1; do
  check "lm eval shard $i/2" 0 "$hattn" lm eval --task activation --model "$bert" --data "$imdb" --methods attr,rollout,random --shard $i/2 --out "$tmp/lea_s$i"
done
check "lm eval merge" 0 "$hattn" lm eval merge --inputs "$tmp/lea_s0,$tmp/lea_s1" --out "$tmp/lea_m"
same_numbers "$tmp/lea/results.json" "$tmp/lea_m/results.json" || { echo "FAIL merged shards differ from the whole run"; diff "$tmp/lea/results.json" "$tmp/lea_m/results.json"; failures=$((failures + 1)); }
check "lm eval stopped" 0 "$hattn" lm eval --task activation --model "$bert" --data "$imdb" --methods attr,rollout,random --max-items 2 --out "$tmp/lea_r"
check "lm eval resumed" 0 "$hattn" lm eval --task activation --model "$bert" --data "$imdb" --methods attr,rollout,random --out "$tmp/lea_r"
expect_in "lm eval resumed says so" "$tmp/err" "resuming: 2 of"
cmp -s "$tmp/lea/counts.csv" "$tmp/lea_r/counts.csv" || { echo "FAIL a resumed run's counts differ"; failures=$((failures + 1)); }
expect_in "lm eval provenance" "$tmp/lea/results.json" '"provenance": {"hattn": '
expect_in "lm eval provenance hashes the weights" "$tmp/lea/results.json" "\"model.safetensors\": \"$(sha256sum "$bert/model.safetensors" | cut -c1-64)\""
expect_in "lm eval merge provenance" "$tmp/lea_m/results.json" '"shards": [{"hattn": '
check "lm eval merge of a shard twice" 2 "$hattn" lm eval merge --inputs "$tmp/lea_s0,$tmp/lea_s0" --out "$tmp/x"
check "lm eval merge with a shard missing" 2 "$hattn" lm eval merge --inputs "$tmp/lea_s0" --out "$tmp/x"
check "lm eval merge of another run" 2 "$hattn" lm eval merge --inputs "$tmp/lea_s0,$tmp/lea" --out "$tmp/x"
check "lm eval merge of an unfinished shard" 2 "$hattn" lm eval merge --inputs "$tmp/lea_s0,$tmp/nowhere" --out "$tmp/x"
check "lm eval pruning (ARC, Mamba)" 0 "$hattn" lm eval --task pruning --model "$recall" --data "$arc" --methods attr,lrp --mask-token id:0 --out "$tmp/lep"
expect_in "lm eval pruning AU-MSE" "$tmp/lep/results.json" '"lrp": {"au_mse": '
check "lm eval ablation (Table 9)" 0 "$hattn" lm eval --task pruning --model "$recall" --data recall --limit 2 --mask-token . --methods attr --aggregate max --clamp none --out "$tmp/lepab"
check "lm eval ablation on BERT refused" 2 "$hattn" lm eval --task activation --model "$bert" --data "$imdb" --aggregate max
check "lm eval accuracy (ARC)" 0 "$hattn" lm eval --task accuracy --model "$recall" --data "$arc" --out "$tmp/lec"
expect_in "lm eval accuracy items" "$tmp/lec/results.json" '"items": 3}'
check "lm eval ARC with a classifier" 2 "$hattn" lm eval --task accuracy --model "$bert" --data "$arc"
check "lm eval IMDb with a language model" 2 "$hattn" lm eval --task accuracy --model "$recall" --data "$imdb"
check "lm eval ARC without a mask token" 2 "$hattn" lm eval --task activation --model "$recall" --data "$arc"
check "lm eval missing data" 2 "$hattn" lm eval --task accuracy --model "$recall" --data "$tmp/no_such_folder"
expect_in "lm eval missing data says so" "$tmp/err" "no such file or folder"
check "lm eval mask token not in the vocabulary" 2 "$hattn" lm eval --task activation --model "$bert" --data "$imdb" --mask-token "<mask>"
check "lm eval unknown task" 2 "$hattn" lm eval --task nonsense --model "$bert" --data "$imdb"
check "lm train bad arch" 2 "$hattn" lm train --arch rnn --out "$tmp/lt3"
check "lm explain query outside" 2 "$hattn" lm explain --model "$lm/mamba2_hf" --ids 1,2,3 --query 3

echo "$failures failure(s)"
((failures > 0)) && exit 1
((skipped)) && exit 77  # ctest reports the test as skipped (SKIP_RETURN_CODE), not as passed
exit 0
