#!/usr/bin/env bash
# Submits a sharded `hattn eval` to Slurm: an N-task job array and a merge job that runs when every task has
# succeeded. Prints the two job ids. Run from the repository root (the jobs start in the submission folder).
# Usage: scripts/slurm/submit.sh KIND N OUTDIR [hattn eval options...]
#   e.g. scripts/slurm/submit.sh perturbation 50 out/table1 --checkpoint vim_s_midclstok_80p5acc.pth --images val/
# Extra sbatch options (partition, time, account): SBATCH_OPTIONS="--partition=gpu --time=04:00:00".
set -euo pipefail
(($# >= 3)) || { sed -n '2,6p' "$0" >&2; exit 2; }
kind=$1 n=$2 out=$3
shift 3
here=$(dirname "$0")
mkdir -p "$out"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_OPTIONS:-} --array="0-$((n - 1))" "$here/eval_array.sbatch" "$kind" "$out" "$@")
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_OPTIONS:-} --dependency="afterok:$array" "$here/merge.sbatch" "$out" "$n")
echo "array $array ($n tasks) -> $out/shard_*; merge $merge -> $out/merged"
