#!/usr/bin/env bash
# Proves the Slurm path for real on this one machine: starts a single-node Slurm cluster from Debian's packages
# (munge, slurmctld, slurmd; no systemd: each daemon is started here in the foreground with a temporary
# SLURM_CONF, state folders and munge socket), submits a 4-task eval array plus its merge on a few images of the
# bundled model (scripts/slurm/submit.sh), waits, checks that the merged results equal one unsharded run, and
# stops every daemon it started (by process id), whatever happens. A minute or two on 2 cores.
# Usage: scripts/slurm_check.sh        (needs: scripts/setup.sh --slurm, and make)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || { echo "slurm_check: $tool is missing (scripts/setup.sh --slurm installs Slurm and munge)" >&2; exit 2; }
done
hattn=./build/bin/hattn
[[ -x $hattn ]] || { echo "slurm_check: $hattn is missing (run make)" >&2; exit 2; }
model=models/weights/vim_cluttered.safetensors
work=$(mktemp -d /tmp/hattn_slurm.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "slurm_check: FAIL $*" >&2; for f in "$work"/*.log; do echo "== $f"; tail -20 "$f"; done >&2; exit 1; }

# munge: a fresh key and socket of our own
mkdir -p "$work/munge"
head -c 1024 /dev/urandom >"$work/munge/munge.key"
chmod 400 "$work/munge/munge.key"
socket=$work/munge/munge.socket
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$socket" --pid-file="$work/munge/munged.pid" \
  --seed-file="$work/munge/munged.seed" --log-file="$work/munged.log" >>"$work/munged.log" 2>&1 &
pids+=($!)

host=$(hostname -s)
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=hattncheck
SlurmctldHost=$host
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmctldPort=16917
SlurmdPort=16918
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=1024 State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || fail "munged did not start"
slurmctld -D -i >"$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D >"$work/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %T 2>/dev/null | grep -q idle || fail "the node never became idle: $(sinfo 2>&1 | tail -2)"
echo "slurm_check: cluster up ($(sinfo -h -o '%P %D %T %C'))"

opts=(--checkpoint "$model" --limit 8 --methods attr,unified,saliency)
echo "slurm_check: unsharded reference run"
HATTN_NUM_THREADS=2 $hattn eval perturbation "${opts[@]}" --out "$work/single" >/dev/null 2>&1 || fail "the unsharded run failed"
submitted=$(SBATCH_OPTIONS="--cpus-per-task=1 --output=$work/job-%j.out" \
  bash scripts/slurm/submit.sh perturbation 4 "$work/sharded" "${opts[@]}")
echo "slurm_check: submitted: $submitted"
for _ in $(seq 600); do
  [[ -z $(squeue -h 2>/dev/null) ]] && break
  sleep 0.5
done
[[ -z $(squeue -h) ]] && echo "slurm_check: queue empty" || fail "jobs still queued after 5 minutes: $(squeue)"
[[ -f $work/sharded/merged/results.json ]] || fail "the merge job wrote no results.json: $(tail -3 "$work"/job-*.out)"
# equal but for the provenance record (last in the file: the commands differ)
cmp -s <(sed '/"provenance"/,$d' "$work/single/results.json") <(sed '/"provenance"/,$d' "$work/sharded/merged/results.json") ||
  fail "merged results differ from the unsharded run"
cmp -s "$work/single/perturbation.csv" "$work/sharded/merged/perturbation.csv" || fail "merged perturbation.csv differs"
echo "slurm_check: OK: 4 array tasks + merge equal the unsharded run"
