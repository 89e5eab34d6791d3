#!/usr/bin/env bash
# SegLab's scale-out on a real scheduler (issue 22): starts a one-node Slurm cluster from Debian's packages
# (slurm-wlm, munge; installed with apt-get when missing; needs root), submits a 4-task `sbatch --array` of
# `seglab eval --shard auto` on the CamVid val split with the pretrained CGNet, waits, runs `seglab merge` over the
# shard folders' glob, runs the unsharded eval, and checks that the merged metrics (metrics.json without its
# run-specific fields, and every per-image record of metrics-state.json) equal the unsharded ones. Then it stops
# the cluster (slurmd, slurmctld, munged: the processes it started, by pid) and removes its temp folder.
#
#   tools/slurm-local.sh [--limit N] [--keep] [--attack]   exit 0: identical; 1: failed; 77: skipped (no ../shared,
#                                                   no root, or slurm-wlm/munge cannot be installed)
# --attack also runs a 2-task array of `seglab attack --shard auto` (PGD, 2 steps, on 4 val images), merges it and
# checks robustness.json's figures against the unsharded attack (not run by CI: it proves the attack merge).
# Environment: SEGLAB_CLI_DLL (a built SegLab.Cli.dll; default: the repository's, built by ./seglab),
# SEGLAB_SLURM_ARRAY (default 1-4: any MIN-MAX[:STEP] range works, e.g. 3-9:2), SEGLAB_SHARED (as everywhere).
# Every line it prints starts with "slurm-local:", and the last one says passed, FAILED or skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "slurm-local: $*"; }
skip() { say "skipped ($*)"; exit 77; }
fail() { say "FAILED: $*"; exit 1; }
t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

limit=""
keep=0
attack=0
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) limit="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --attack) attack=1; shift ;;
    *) echo "usage: tools/slurm-local.sh [--limit N] [--keep] [--attack]" >&2; exit 2 ;;
  esac
done
array="${SEGLAB_SLURM_ARRAY:-1-4}"

shared="${SEGLAB_SHARED:-$root/../shared}"
data="$shared/data/camvid"
model="$shared/models/cgnet-camvid/cgnet_m3n21_camvid.safetensors"
[ -d "$data/val" ] && [ -f "$model" ] || skip "no CamVid or CGNet under $shared"
[ "$(id -u)" -eq 0 ] || skip "needs root to install and run slurmctld, slurmd and munged"
command -v python3 >/dev/null || skip "needs python3 to compare the metrics"

# Debian's packages, installed once.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge with apt-get"
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge) >/dev/null 2>&1; then
    skip "apt-get could not install slurm-wlm and munge"
  fi
fi
t_install=$(since "$t0")
say "$(slurmctld -V 2>&1 | head -n 1), $(munged --version 2>&1 | awk '{print $1; exit}'); install step ${t_install} s"

# The seglab build every task runs (built once here, so that no task builds).
dll="${SEGLAB_CLI_DLL:-}"
if [ -z "$dll" ]; then
  "$root/seglab" --version >/dev/null || fail "seglab did not build"
  dll="$root/artifacts/bin/SegLab.Cli/release/SegLab.Cli.dll"
fi
[ -f "$dll" ] || fail "no seglab at $dll"
seglab() { dotnet "$dll" "$@"; }

tmp="$(mktemp -d /tmp/seglab-slurm.XXXXXX)"
chmod 755 "$tmp"
pids=()
cleanup() {
  local rc=$?
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -n "${job:-}" ]; then scancel "$job" 2>/dev/null; fi
  for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munged.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  for _ in $(seq 50); do
    alive=0
    for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munged.pid"; do
      [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  if [ "$keep" -eq 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
  exit $rc
}
trap cleanup EXIT

# munge with its own key and socket in the temp folder (the system's munge, if any, is left alone).
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/runs" "$tmp/log"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$tmp/munge"; chmod 400 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket" --pid-file="$tmp/munged.pid" \
  --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/munge.seed" || fail "munged did not start ($(tail -n 3 "$tmp/log/munged.log" 2>/dev/null))"

# slurm.conf: one node, localhost, the machine's CPUs; no cgroups, no accounting (container friendly).
cpus=$(nproc)
mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
port=$((20000 + RANDOM % 20000))
cat >"$tmp/slurm.conf" <<EOF
ClusterName=seglab-local
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start ($(tail -n 3 "$tmp/log/slurmctld.log" 2>/dev/null))"
slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not start ($(tail -n 3 "$tmp/log/slurmd.log" 2>/dev/null))"
for _ in $(seq 100); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true)
  case "$state" in idle*|mix*|alloc*) break ;; esac
  sleep 0.2
done
case "$state" in idle*|mix*|alloc*) ;; *) fail "the node did not come up (state '${state}'; $(tail -n 2 "$tmp/log/slurmd.log" 2>/dev/null))" ;; esac
t_cluster=$(since "$t0")
say "cluster up: slurmctld + slurmd on localhost, $cpus CPUs, port $port (at ${t_cluster} s)"

# The array: every task evaluates its shard, named from its own SLURM_ARRAY_TASK_ID; --shard auto derives i/n.
runs="$tmp/runs"
lim=()
[ -n "$limit" ] && lim=(--limit "$limit")
cat >"$tmp/eval-array.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
exec dotnet "$dll" --threads 1 eval --model cgnet-camvid --weights "$model" --data "$data" --split val ${lim[*]} \\
  --shard auto --out "$runs/shard-\$SLURM_ARRAY_TASK_ID"
EOF
chmod +x "$tmp/eval-array.sh"
t_submit=$(date +%s.%N)
job=$(sbatch --parsable --array="$array" --cpus-per-task=1 --job-name=seglab-eval --output="$tmp/log/eval-%A_%a.out" \
  --export=ALL,NO_COLOR=1 --wait "$tmp/eval-array.sh") || {
  for f in "$tmp"/log/eval-*.out; do [ -f "$f" ] && sed "s/^/slurm-local: $(basename "$f"): /" "$f" | tail -n 5; done
  fail "the array job failed (sbatch --wait exited non-zero)"
}
job="${job%%;*}"
t_array=$(since "$t_submit")
shards=$(find "$runs" -maxdepth 1 -name 'shard-*' -type d | wc -l)
say "array job $job ($array): $shards shard folders in ${t_array} s"
for f in "$runs"/shard-*/metrics.json; do
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("slurm-local:   %s: shard %s (%s: %s), %d images" % (sys.argv[1].split("/")[-2], m["shard"], m["shardSource"], m["shardTask"], m["images"]))' "$f"
done

t_merge=$(date +%s.%N)
seglab merge "$runs/shard-*" --out "$runs/merged" >"$tmp/log/merge.out" 2>&1 || { tail -n 5 "$tmp/log/merge.out"; fail "seglab merge failed"; }
t_merge=$(since "$t_merge")
t_whole=$(date +%s.%N)
NO_COLOR=1 seglab eval --model cgnet-camvid --weights "$model" --data "$data" --split val "${lim[@]}" --out "$runs/whole" >"$tmp/log/whole.out" 2>&1 \
  || { tail -n 5 "$tmp/log/whole.out"; fail "the unsharded seglab eval failed"; }
t_whole=$(since "$t_whole")
say "merge ${t_merge} s; unsharded eval ${t_whole} s"

# Identical: every metric field of metrics.json (run-specific fields dropped) and every per-image record.
python3 - "$runs/merged" "$runs/whole" <<'EOF' || fail "the merged metrics differ from the unsharded run"
import json, sys
run_fields = {"commandLine", "seconds", "imagesPerSecond", "shard", "shardSource", "shardTask", "mergedShards", "partial", "missingShards"}
def load(d, f):
    with open(f"{d}/{f}") as h:
        return json.load(h)
merged, whole = (load(d, "metrics.json") for d in sys.argv[1:3])
a = {k: v for k, v in merged.items() if k not in run_fields}
b = {k: v for k, v in whole.items() if k not in run_fields}
diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
if diff:
    for k in diff:
        print(f"slurm-local:   {k}: merged {json.dumps(a.get(k))[:120]} vs unsharded {json.dumps(b.get(k))[:120]}")
    sys.exit(1)
# metrics-state.json: the same header and the same record for every image (a merge lists them shard by shard).
sa, sb = (load(d, "metrics-state.json") for d in sys.argv[1:3])
def by_id(s):
    return {k: ({r["id"]: r for r in v} if isinstance(v, list) and v and isinstance(v[0], dict) else v) for k, v in s.items()}
ia, ib = by_id(sa), by_id(sb)
if ia != ib or any(len(sa[k]) != len(sb[k]) for k in sa if isinstance(sa[k], list)):
    bad = sorted(k for k in set(ia) | set(ib) if ia.get(k) != ib.get(k))
    print(f"slurm-local:   metrics-state.json differs in {bad}")
    sys.exit(1)
print(f"slurm-local: identical: {len(a)} metric fields (mIoU {whole['mIoU']:.4f}, {whole['images']} images) and every per-image record")
EOF
if [ "$attack" -eq 1 ]; then
  ids=$(ls "$data/val" | head -n 4 | sed 's/\.png$//' | paste -sd, -)
  attack_args=(attack --model cgnet-camvid --weights "$model" --data "$data" --split val --attack pgd --steps 2 --images "$ids")
  cat >"$tmp/attack-array.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
exec dotnet "$dll" --threads 1 ${attack_args[*]} --shard auto --out "$runs/attack-shard-\$SLURM_ARRAY_TASK_ID"
EOF
  chmod +x "$tmp/attack-array.sh"
  t_attack=$(date +%s.%N)
  sbatch --parsable --array=0-1 --cpus-per-task=1 --job-name=seglab-attack --output="$tmp/log/attack-%A_%a.out" \
    --export=ALL,NO_COLOR=1 --wait "$tmp/attack-array.sh" >/dev/null || fail "the attack array job failed"
  seglab merge "$runs/attack-shard-*" --out "$runs/attack-merged" >"$tmp/log/attack-merge.out" 2>&1 || { tail -n 5 "$tmp/log/attack-merge.out"; fail "seglab merge of the attack shards failed"; }
  NO_COLOR=1 seglab --threads 1 "${attack_args[@]}" --out "$runs/attack-whole" >"$tmp/log/attack-whole.out" 2>&1 || fail "the unsharded attack failed"
  python3 - "$runs/attack-merged" "$runs/attack-whole" <<'EOF' || fail "the merged attack differs from the unsharded one"
import json, sys
a, b = (json.load(open(f"{d}/robustness.json")) for d in sys.argv[1:3])
timing = {"secondsPerImage"}
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in timing}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
keys = ["images", "perImage", "excludedClasses"]
bad = [k for k in keys if a[k] != b[k]]
bad += [f"eps[{i}]" for i, (x, y) in enumerate(zip(a["eps"], b["eps"])) if strip(x) != strip(y)]
if bad or len(a["eps"]) != len(b["eps"]):
    print(f"slurm-local:   robustness.json differs in {bad}")
    sys.exit(1)
print(f"slurm-local: attack: merged = unsharded in every figure but timings ({a['images']} images, worst-case mIoU {a['eps'][0]['worstCase']['mIoU']:.4f})")
EOF
  say "attack array + merge + unsharded attack $(since "$t_attack") s"
fi
say "passed in $(since "$t0") s (install ${t_install} s, cluster up at ${t_cluster} s, array ${t_array} s, merge ${t_merge} s, unsharded ${t_whole} s)"
