#!/usr/bin/env bash
# Sweep bookkeeping at scale (issue 11): a generated 100,000-point spec (8 networks x 5 NBin x
# 5 NBout x 5 SB x 5 DRAM bandwidths x 5 DRAM latencies x 4 pipelines) is
#   1. planned: `fusesim sweep SPEC --dry-run` (every point listed),         target <= 2 s;
#   2. written for Slurm: `--executor slurm --dry-run` (plan, task table of
#      1,000 array tasks, sweep.sbatch; nothing submitted),                   target <= 2 s;
#   3. merged: 100,000 synthetic result rows in 1,000 shards folded into
#      results.jsonl and results.csv by `fusesim sweep-status DIR`,          target <= 5 s.
# No point is simulated and no Slurm is needed. Prints wall and CPU seconds of each step and
# exits 1 when a target is missed.
# Usage: scripts/bench_sweep.sh [FUSESIM]     (default build/fusesim)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fusesim=$(realpath "${1:-$root/build/fusesim}")
[ -x "$fusesim" ] || { echo "bench_sweep.sh: no fusesim binary at $fusesim (build first: scripts/build.sh)"; exit 2; }
work=$(mktemp -d /tmp/fusesim-bench-sweep.XXXXXX)
trap '[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT

models=""
for m in alexnet googlenet lenet5 mobilenet_v2 resnet18 resnet50 squeezenet1_0 vgg16; do
  models="$models${models:+, }$root/models/$m.yaml"
done
cat >"$work/spec.yaml" <<EOF
name: bench-100k
base: {mode: timing}
axes:
  model: [$models]
  arch.buffers.nbin.bytes: {from: 1KiB, to: 16KiB, scale: pow2}
  arch.buffers.nbout.bytes: {from: 1KiB, to: 16KiB, scale: pow2}
  arch.buffers.sb.bytes: {from: 16KiB, to: 256KiB, scale: pow2}
  arch.dram.bandwidth_gbps: {from: 6.4, to: 32, step: 6.4}
  arch.dram.latency_ns: {from: 30, to: 70, step: 10}
  compiler.pipeline: [none, fine, coarse, full]
EOF

misses=0
# step NAME TARGET_S COMMAND...: runs COMMAND once with stdout to a file, prints its times.
step() {
  local name=$1 target=$2 t
  shift 2
  local TIMEFORMAT="%R %U %S" wall user sys
  { time "$@" >"$work/$name.out" 2>"$work/$name.err"; } 2>"$work/$name.time" ||
    { echo "bench_sweep.sh: $name failed:"; cat "$work/$name.err"; exit 1; }
  read -r wall user sys <"$work/$name.time"
  local verdict=ok
  awk -v w="$wall" -v t="$target" 'BEGIN { exit !(w > t) }' && { verdict=MISSED; misses=$((misses + 1)); }
  printf '%-34s %7s %7s %7s %7s  %s\n' "$name" "$wall" "$user" "$sys" "<= $target" "$verdict"
}

echo "fusesim bench_sweep: $("$fusesim" --version | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %7s %7s %7s %7s\n' step wall_s user_s sys_s target
step plan_dry_run 2 "$fusesim" sweep "$work/spec.yaml" --dry-run
head -1 "$work/plan_dry_run.out" | grep -q "^bench-100k: 100000 points" ||
  { echo "bench_sweep.sh: the spec did not plan 100,000 points: $(head -1 "$work/plan_dry_run.out")"; exit 1; }
step slurm_script_and_task_table 2 "$fusesim" sweep "$work/spec.yaml" --executor slurm --dry-run --out "$work/dir"
[ "$(wc -l <"$work/dir/tasks/0.txt")" -eq 1000 ] || { echo "bench_sweep.sh: expected 1,000 array tasks"; exit 1; }

# 1,000 shards of 100 rows, as 1,000 array tasks of 100 points would leave them.
python3 - "$work/dir" <<'PY'
import json, os, sys
d = sys.argv[1]
tasks = [line.split() for line in open(f"{d}/tasks/0.txt")]
points = [json.loads(l) for l in open(f"{d}/points.jsonl")]
os.makedirs(f"{d}/shards", exist_ok=True)
for t, ranges in enumerate(tasks):
    with open(f"{d}/shards/0_{t}.jsonl", "w") as out:
        for r in ranges:
            lo, _, hi = r.partition("-")
            for i in range(int(lo), int(hi or lo) + 1):
                p = points[i]
                row = {"id": p["id"], "index": p["index"]}
                row.update({k.removeprefix("compiler."): v for k, v in p.items()
                            if k not in ("id", "index", "model_path", "arch_path")})
                row.update(status="ok", error="", cycles=1000000 + i, time_ns=1020408.163 + i, macs=724000000,
                           dram_read_bytes=61000000 + i, dram_write_bytes=1200000, avg_bw_gbps=11.2,
                           peak_bw_gbps=12.8, nfu_utilization=0.4321, energy_pj=2.1e10 + i,
                           onchip_bytes=36864, compulsory_dram_bytes=60000000, dram_fetch_bytes=61000000,
                           wall_s=1.234, model_path=p["model_path"], arch_path=p["arch_path"])
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
PY
step merge_100k_rows_1000_shards 5 "$fusesim" sweep-status "$work/dir"
rows=$(wc -l <"$work/dir/results.jsonl")
[ "$rows" -eq 100000 ] && [ "$(wc -l <"$work/dir/results.csv")" -eq 100001 ] ||
  { echo "bench_sweep.sh: merged $rows rows, expected 100,000"; exit 1; }
echo "merged: $rows rows in results.jsonl ($(du -h "$work/dir/results.jsonl" | cut -f1)), results.csv ($(du -h "$work/dir/results.csv" | cut -f1))"
[ "$misses" -eq 0 ] || { echo "bench_sweep.sh: $misses target(s) missed"; exit 1; }
