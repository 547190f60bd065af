#!/usr/bin/env bash
# CPU speed side by side (the CPU-speed issue): our end-to-end benchmark and whole `hattn` processes, and,
# when Debian's python3-torch is installed, the same computations in PyTorch in the same run
# (scripts/bench_vs_pytorch.py: the pure-PyTorch Vim of make_reference.py, float32). Prints a table with the
# ratios and writes everything under OUTDIR (default out/bench).
#
# Usage: scripts/bench_vs_pytorch.sh [OUTDIR]        (HATTN_BENCH_REPEAT=N: best of N, default 3)
# Model: Vim-tiny shapes (D 192, depth 24, 224x224, 197 tokens), random weights from `hattn init`.
# OpenBLAS runs fastest with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; this script unsets them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench}
repeat=${HATTN_BENCH_REPEAT:-3}
threads=$(nproc)
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
mkdir -p "$out"
hattn=./build/bin/hattn
for f in $hattn build/bench/bench_end_to_end build/bench/bench_gemm; do
  [[ -x $f ]] || { echo "bench_vs_pytorch: $f is missing; run 'make' (and scripts/setup.sh for Google Benchmark)" >&2; exit 2; }
done
ckpt=$out/vim_tiny.safetensors
image=tests/data/images/src_wide.png
[[ -f $ckpt ]] || $hattn init --config tiny --seed 0 --out "$ckpt" >/dev/null

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== ours, in-process (build/bench/bench_end_to_end; best of $repeat)"
./build/bench/bench_end_to_end --benchmark_repetitions="$repeat" --benchmark_report_aggregates_only=false \
  --benchmark_format=csv 2>/dev/null >"$out/ours_e2e.csv"
./build/bench/bench_gemm --benchmark_filter='gemm_ours/(197|1576)/(192/768|384/192)/' --benchmark_format=csv \
  2>/dev/null >"$out/ours_gemm.csv"

# best-of-N wall time and peak RSS of a whole process
time_process() {
  local name=$1; shift
  local best="" rss=0
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>&1
    read -r t m <"$out/time.txt"
    if [[ -z $best ]] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    (( m > rss )) && rss=$m
  done
  echo "$name $best" >>"$out/ours.txt"
  echo "$name:peak_rss_mb $((rss / 1024))" >>"$out/ours.txt"
}
: >"$out/ours.txt"
# in-process numbers: the minimum real time over the repetitions, in seconds
awk -F, '/^"BM_/ && !/_(mean|median|stddev|cv)"/ { gsub(/"/, "", $1); sub(/\/real_time.*/, "", $1); t = $3 / 1000;
          if (!($1 in best) || t < best[$1]) best[$1] = t }
         END { for (k in best) print k, best[k] }' "$out/ours_e2e.csv" >>"$out/ours.txt"
awk -F, '/^name,/ { for (i = 1; i <= NF; ++i) if ($i ~ /GFLOP/) col = i }
         /^"gemm_ours/ { gsub(/"/, "", $1); split($1, p, "/"); print "sgemm_gflops:" p[2] "x" p[3] "x" p[4], $col }' \
  "$out/ours_gemm.csv" >>"$out/ours.txt"
echo "== ours, whole processes (best of $repeat; loading, decoding and writing included)"
time_process classify_process $hattn classify --checkpoint "$ckpt" --image "$image" --logits-npy "$out/ours_logits.npy"
time_process explain_attr_process $hattn explain --checkpoint "$ckpt" --image "$image" --method attr \
  --variant official --out "$out/explain"

if /usr/bin/python3 -c 'import torch, PIL, numpy' 2>/dev/null; then
  echo "== PyTorch, in-process (this takes a few minutes: its scan is the sequential reference loop)"
  OMP_NUM_THREADS=$threads /usr/bin/python3 scripts/bench_vs_pytorch.py --checkpoint "$ckpt" --image "$image" \
    --ours-logits "$out/ours_logits.npy" --json "$out/torch.json" --threads "$threads" --repeat "$repeat" >/dev/null
else
  echo "== PyTorch: not installed (scripts/setup.sh --dev); ours only"
  : >"$out/torch.txt"
fi

echo
awk '
  FNR == NR { ours[$1] = $2; next }
  { torch[$1] = $2 }
  function row(label, o, t, unit, higher_better,   r) {
    if (o == "") return
    if (t == "") { printf "| %-44s | %12s | %12s | %8s |\n", label, sprintf(unit, o), "—", "—"; return }
    r = higher_better ? o / t : t / o
    printf "| %-44s | %12s | %12s | %7.1fx |\n", label, sprintf(unit, o), sprintf(unit, t), r
  }
  END {
    printf "| %-44s | %12s | %12s | %8s |\n", "Vim-tiny, batch 1, " threads " threads", "ours", "PyTorch", "speed-up"
    printf "|%s|%s|%s|%s|\n", "----------------------------------------------", "--------------", "--------------", "----------"
    row("forward, in-process (s)", ours["BM_Forward"], torch["forward"], "%.4f", 0)
    row("Mamba-Attribution map, in-process (s)", ours["BM_ExplainAttr"], torch["explain_attr"], "%.4f", 0)
    row("full hidden attention of one layer (s)", ours["BM_LayerAttention"], torch["layer_attn"], "%.4f", 0)
    row("training step, batch 2 (s)", ours["BM_TrainStep/2"], torch["train_step_b2"], "%.3f", 0)
    row("training step, batch 8 (s)", ours["BM_TrainStep/8"], "", "%.3f", 0)
    row("classify: whole process vs in-process (s)", ours["classify_process"], torch["classify_e2e"], "%.3f", 0)
    row("explain attr: whole process (s)", ours["explain_attr_process"], torch["explain_attr"], "%.3f", 0)
    row("explain attr: peak RSS (MB)", ours["explain_attr_process:peak_rss_mb"], "", "%d", 0)
    for (k in ours) if (k ~ /^sgemm_gflops:/) row("SGEMM " substr(k, 14) " (GFLOP/s)", ours[k], torch[k], "%.0f", 1)
    if (torch["logits_max_abs_diff"] != "")
      printf "\nsame weights and image: logits differ by at most %s (scale %s), same top-1: %s\n",
             torch["logits_max_abs_diff"], torch["logits_scale"], torch["same_top1"]
  }' threads="$threads" "$out/ours.txt" "$out/torch.txt" | tee "$out/table.md"
echo
echo "files: $out/{ours.txt,torch.json,table.md}"
