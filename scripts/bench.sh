#!/usr/bin/env bash
# Simulator speed: per zoo network, the wall time, simulated cycles and simulated cycles per
# wall-clock second in timing and in functional mode; then sweep throughput in points per
# minute at -j 2. Checks the speed targets of issue 6.
# Usage: scripts/bench.sh [FUSESIM]     (default build/fusesim)
# Env:   BENCH_MODELS="alexnet vgg16"   networks to run (default: the zoo networks present)
#        BENCH_MODES="timing functional"
#        BENCH_SPEC=configs/sweeps/fusion-pipeline.yaml   sweep to time (default: a generated
#                                       24-point spec over alexnet and resnet18 when present)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fusesim=$(realpath "${1:-$root/build/fusesim}")
[ -x "$fusesim" ] || { echo "bench.sh: no fusesim binary at $fusesim (build first: scripts/build.sh)"; exit 2; }
work=$(mktemp -d /tmp/fusesim-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$root"

zoo="lenet5 alexnet vgg16 resnet18 resnet50 mobilenet_v2 squeezenet1_0 googlenet"
models=${BENCH_MODELS:-}
if [ -z "$models" ]; then
  for m in $zoo; do [ -f "models/$m.yaml" ] && models="$models $m"; done
fi
modes=${BENCH_MODES:-timing functional}
now() { date +%s.%N; }

# Target (seconds of wall time) per network and mode, from the issue; empty: no target.
target() {
  case "$1/$2" in
    resnet50/timing|vgg16/timing) echo 1 ;;
    vgg16/functional) echo 15 ;;
  esac
}

echo "fusesim bench: $("$fusesim" --version 2>/dev/null | head -1), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-14s %-10s %9s %9s %9s %16s %12s  %s\n' network mode wall_s compile_s sim_s cycles Mcycles/s target
misses=0
for m in $models; do
  for mode in $modes; do
    out="$work/$m-$mode"
    t0=$(now)
    if "$fusesim" run --model "models/$m.yaml" --mode "$mode" --out "$out" --no-timeline --quiet >"$out.log" 2>&1; then
      t1=$(now)
      read -r cycles compile_s sim_s < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["cycles"], r["compile_seconds"], r["simulate_seconds"])' "$out/report.json")
      wall=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
      rate=$(python3 -c "print(f'{$cycles / ($t1 - $t0) / 1e6:.1f}')")
      tgt=$(target "$m" "$mode")
      verdict=""
      if [ -n "$tgt" ]; then
        if python3 -c "import sys; sys.exit(0 if $t1 - $t0 <= $tgt else 1)"; then verdict="<= ${tgt} s: met"
        else verdict="<= ${tgt} s: MISSED"; misses=$((misses + 1)); fi
      fi
      printf '%-14s %-10s %9s %9.3f %9.3f %16s %12s  %s\n' "$m" "$mode" "$wall" "$compile_s" "$sim_s" "$cycles" "$rate" "$verdict"
    else
      printf '%-14s %-10s %9s  FAILED: %s\n' "$m" "$mode" "-" "$(grep -v -e SystemC -e Copyright -e RESERVED -e '^$' "$out.log" | tail -1)"
      misses=$((misses + 1))
    fi
  done
done

# Sweep throughput at -j 2.
spec=${BENCH_SPEC:-}
if [ -z "$spec" ]; then
  spec="$work/bench-sweep.yaml"
  sweep_models=""
  for m in alexnet resnet18; do [ -f "models/$m.yaml" ] && sweep_models="$sweep_models, models/$m.yaml"; done
  cat >"$spec" <<EOF
name: bench
base: {mode: timing}
axes:
  model: [${sweep_models#, }]
  compiler.fusion: [none, greedy, optimal]
  compiler.pipeline: [none, fine, coarse, full]
EOF
fi
t0=$(now)
"$fusesim" sweep "$spec" -j 2 --out "$work/sweep" >"$work/sweep.log" 2>&1 || { echo "sweep failed:"; tail -5 "$work/sweep.log"; exit 1; }
t1=$(now)
python3 - "$work/sweep/results.csv" "$t0" "$t1" "$spec" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
wall = float(sys.argv[3]) - float(sys.argv[2])
ok = sum(r["status"] == "ok" for r in rows)
worker = sum(float(r["wall_s"]) for r in rows)
print(f"\nsweep {sys.argv[4]}: {len(rows)} points ({ok} ok) in {wall:.1f} s at -j 2: "
      f"{60 * len(rows) / wall:.1f} points/min (mean worker wall {worker / max(1, len(rows)):.2f} s)")
PY
[ "$misses" -eq 0 ] && echo "all speed targets met" || echo "$misses target(s) missed or runs failed"
