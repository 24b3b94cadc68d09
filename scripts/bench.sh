#!/usr/bin/env bash
# Simulator speed (issue 13; docs/performance.md explains every figure): the whole-process wall
# time, CPU time and peak RSS of the issue's runs, median of BENCH_REPS runs each; the functional
# MAC rate against a plain int16 GEMM microbenchmark built and run in the same invocation; timing
# mode per simulated instruction and per DRAM run; then sweep throughput at -j 2 (issue 6).
# Usage: scripts/bench.sh [FUSESIM]     (default build/fusesim)
# Env:   BENCH_REPS=5        runs per figure (the median is printed; a shared host moves single runs by a fifth)
#        BENCH_SWEEP=0       skip the sweep throughput
#        BENCH_SPEC=FILE     sweep to time (default: a generated 24-point spec, alexnet + resnet18)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fusesim=$(realpath "${1:-$root/build/fusesim}")
[ -x "$fusesim" ] || { echo "bench.sh: no fusesim binary at $fusesim (build first: scripts/build.sh)"; exit 2; }
[ -x /usr/bin/time ] || { echo "bench.sh: needs /usr/bin/time (Debian package time)"; exit 2; }
reps=${BENCH_REPS:-5}
work=$(mktemp -d /tmp/fusesim-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$root"

echo "fusesim bench: $("$fusesim" --version 2>/dev/null | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"

# The yardstick: a plain int16 GEMM, compiled as a Release build compiles the NFU kernels.
${CXX:-c++} -O3 -std=c++17 -o "$work/bench_gemm" scripts/bench_gemm.cpp
# On a shared host a run of it can come out at half the rate: it runs once per repetition below
# too, and the best of all its runs is the yardstick.
"$work/bench_gemm" >>"$work/gemm.txt"

# One run: appends "wall cpu rss_kb compile_s sim_s macs instructions dram_runs cycles" to $2.
run_once() {
  local net=$1 mode=$2 out=$work/$1-$2
  rm -rf "$out"
  /usr/bin/time -f '%e %U %S %M' -o "$out.time" "$fusesim" run --model "models/$net.yaml" --mode "$mode" \
    --out "$out" --no-timeline --quiet >"$out.log" 2>&1 || { echo "FAILED: $net $mode"; tail -3 "$out.log"; exit 1; }
  python3 - "$out.time" "$out/report.json" >>"$work/$net-$mode.runs" <<'PY'
import json, sys
wall, user, sys_, rss = open(sys.argv[1]).read().split()[-4:]
r = json.load(open(sys.argv[2]))
print(wall, float(user) + float(sys_), rss, r["compile_seconds"], r["simulate_seconds"], r["macs"],
      r["instructions"], r.get("dram_runs", 0), r["cycles"])
PY
}

runs="vgg16:timing resnet50:timing alexnet:timing alexnet:functional vgg16:functional"
for i in $(seq "$reps"); do  # interleaved, so that a load spike hits every figure alike
  for r in $runs; do run_once "${r%%:*}" "${r##*:}"; done
  "$work/bench_gemm" >>"$work/gemm.txt"
done
gemm_rate=$(awk '$1 == "gemm_macs_per_s" && $2 > m {m = $2} END {print m}' "$work/gemm.txt")
gemm_avx2=$(awk '$1 == "gemm_avx2_macs_per_s" && $2 > m {m = $2} END {print m + 0}' "$work/gemm.txt")

python3 - "$work" "$gemm_rate" "$runs" "${gemm_avx2:-0}" <<'PY'
import statistics, sys
work, gemm, runs, gemm_avx2 = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(), float(sys.argv[4])
# Issue 13's targets: wall seconds and peak RSS MB (None: no target).
targets = {"vgg16:timing": (0.5, 64), "resnet50:timing": (0.25, None), "alexnet:timing": (None, None),
           "alexnet:functional": (0.8, 200), "vgg16:functional": (3.0, None)}
med = lambda xs: statistics.median(xs)
print(f"\n{'run':22} {'wall_s':>7} {'cpu_s':>7} {'rss_MB':>7} {'compile_s':>9} {'sim_s':>7}  target")
rows = {}
for r in runs:
    vals = [list(map(float, l.split())) for l in open(f"{work}/{r.replace(':', '-')}.runs")]
    m = [med(col) for col in zip(*vals)]
    rows[r] = m
    wall, cpu, rss_kb, comp, sim = m[:5]
    tw, tm = targets[r]
    verdict = []
    if tw is not None: verdict.append(f"wall <= {tw} s: {'met' if wall <= tw else 'MISSED'}")
    if tm is not None: verdict.append(f"rss <= {tm} MB: {'met' if rss_kb / 1024 <= tm else 'MISSED'}")
    print(f"{r:22} {wall:7.3f} {cpu:7.3f} {rss_kb / 1024:7.1f} {comp:9.3f} {sim:7.3f}  {'; '.join(verdict)}")
print(f"(medians of {len(vals)} runs; wall and peak RSS of the whole process from /usr/bin/time)")
print(f"\nint16 GEMM microbenchmark (plain loops, the Release build's flags; the best of its runs): {gemm / 1e9:.2f} G MAC/s"
      + (f"; the same loops built for AVX2, as the NFU's GEMM also is: {gemm_avx2 / 1e9:.2f} G MAC/s" if gemm_avx2 else ""))
for r in runs:
    if not r.endswith("functional"): continue
    wall, cpu, rss, comp, sim, macs = rows[r][:6]
    extra = f" ({macs / sim / gemm_avx2:.1%} of the AVX2 build)" if gemm_avx2 else ""
    print(f"{r:22} {macs / sim / 1e9:6.2f} G MAC/s over the simulation phase = {macs / sim / gemm:5.1%} of the "
          f"microbenchmark{extra}; {macs / wall / 1e9:.2f} G MAC/s over the whole process ({macs / wall / gemm:.1%})")
print()
for r in runs:
    if not r.endswith("timing"): continue
    wall, cpu, rss, comp, sim, macs, instrs, druns, cycles = rows[r]
    per_run = f"{sim / druns * 1e9:5.1f} ns per DRAM run ({druns:,.0f})" if druns else "DRAM runs not reported"
    print(f"{r:22} {sim / instrs * 1e9:7.0f} ns per instruction ({instrs:,.0f}), {per_run}, "
          f"{cycles / sim / 1e6:.0f} M cycles/s (simulation phase)")
PY

[ "${BENCH_SWEEP:-1}" = 0 ] && exit 0
# Sweep throughput at -j 2.
spec=${BENCH_SPEC:-}
if [ -z "$spec" ]; then
  spec="$work/bench-sweep.yaml"
  cat >"$spec" <<EOF
name: bench
base: {mode: timing}
axes:
  model: [models/alexnet.yaml, models/resnet18.yaml]
  compiler.fusion: [none, greedy, optimal]
  compiler.pipeline: [none, fine, coarse, full]
EOF
fi
t0=$(date +%s.%N)
"$fusesim" sweep "$spec" -j 2 --out "$work/sweep" >"$work/sweep.log" 2>&1 || { echo "sweep failed:"; tail -5 "$work/sweep.log"; exit 1; }
t1=$(date +%s.%N)
python3 - "$work/sweep/results.csv" "$t0" "$t1" "$spec" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
wall = float(sys.argv[3]) - float(sys.argv[2])
ok = sum(r["status"] == "ok" for r in rows)
worker = sum(float(r["wall_s"]) for r in rows)
print(f"\nsweep {sys.argv[4]}: {len(rows)} points ({ok} ok) in {wall:.1f} s at -j 2: "
      f"{60 * len(rows) / wall:.1f} points/min (mean worker wall {worker / max(1, len(rows)):.2f} s)")
PY
