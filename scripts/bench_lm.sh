#!/usr/bin/env bash
# Language-model speed on this machine, like for like in one run: a 130m-shaped Mamba-1 and Mamba-2 (random
# weights, state-spaces' 130m configurations, written once by transformers' save_pretrained) generate K = 32
# tokens greedily after a prompt of T = 128 tokens, with `hattn lm generate` (the recurrent step) and with
# transformers 4.44.2's CPU path (use_cache=True), both on all cores. Reports prompt and generation rates, whole
# process times, and whether the two generated the same tokens. Needs `scripts/setup.sh --dev` (.venv-peers).
# Usage: scripts/bench_lm.sh [OUTDIR (out/bench_lm)]. About 5 minutes on 2 cores (mostly writing the models).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench_lm}
py=.venv-peers/bin/python
source scripts/openblas_fastest.sh  # the PyTorch side at its fastest on this machine
hattn=./build/bin/hattn
[[ -x $py ]] || { echo "bench_lm: $py is missing: run scripts/setup.sh --dev" >&2; exit 2; }
[[ -x $hattn ]] || { echo "bench_lm: $hattn is missing: run make" >&2; exit 2; }
mkdir -p "$out"
ids=$($py -c "import random; r = random.Random(0); print(','.join(str(r.randrange(50000)) for _ in range(128)))")
{
  echo "## 130m-shaped language models, prompt 128 tokens, 32 new tokens ($(date -u +%F), $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  echo
  for arch in mamba1 mamba2; do
    model=$out/${arch}_130m
    [[ -f $model/config.json ]] || $py scripts/bench_lm.py make --arch $arch --out "$model" >&2
    t0=$(date +%s.%N)
    ours=$($hattn lm generate --model "$model" --ids "$ids" --max-new-tokens 32 2>"$out/ours_$arch.err")
    t1=$(date +%s.%N)
    theirs=$($py scripts/bench_lm.py run --model "$model" --ids "$ids" --new 32 2>/dev/null)
    t2=$(date +%s.%N)
    echo "### $arch"
    echo "- hattn:        $(grep '^lm generate' "$out/ours_$arch.err" | sed 's/^lm generate: //'); whole process $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s"
    echo "- $(echo "$theirs" | grep '^transformers'); whole process $(awk "BEGIN { printf \"%.2f\", $t2 - $t1 }") s"
    if [[ "ids $ours" == "$(echo "$theirs" | grep '^ids')" ]]; then echo "- same 32 tokens generated"
    else echo "- DIFFERENT tokens: hattn $ours vs $(echo "$theirs" | grep '^ids')"; fi
    echo
  done
} | tee "$out/table.md"
