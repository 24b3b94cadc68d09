#!/usr/bin/env bash
# Functional --check (int16 bit-exact against the reference executor) under every combination
# of fusion x pipeline x elimination, on the given arch presets; and the compiler's invariants
# per combination: fusion never increases DRAM traffic, pipeline full never takes more cycles
# than pipeline none.
# Usage: all_combos.sh FUSESIM MODEL ARCH...
set -eu
exe=$1; model=$2; shift 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
for arch in "$@"; do
  for e in on off; do
    for f in none greedy optimal; do
      for p in none fine coarse full; do
        d="$tmp/$(basename "$arch" .yaml)_${f}_${p}_$e"
        if ! "$exe" run --model "$model" --arch "$arch" --fusion $f --pipeline $p --elimination $e --check --quiet \
             --no-timeline --out "$d"; then
          echo "FAIL: $arch fusion $f pipeline $p elimination $e"; fails=$((fails + 1))
        fi
      done
    done
  done
done
python3 - "$tmp" <<'PY' || fails=$((fails + 1))
import glob, json, os, sys
pts = {}
for f in glob.glob(os.path.join(sys.argv[1], "*", "report.json")):
    arch, fu, pi, el = os.path.basename(os.path.dirname(f)).rsplit("_", 3)
    j = json.load(open(f))
    pts[(arch, fu, pi, el)] = (j["cycles"], j["dram_read_bytes"] + j["dram_write_bytes"])
bad = 0
for (arch, fu, pi, el), (cyc, dram) in sorted(pts.items()):
    if fu != "none" and dram > pts[(arch, "none", pi, el)][1]:
        print("fusion %s increases DRAM traffic: %s pipeline %s elimination %s" % (fu, arch, pi, el)); bad += 1
    if pi == "full" and cyc > pts[(arch, fu, "none", el)][0]:
        print("pipeline full slower than none: %s fusion %s elimination %s" % (arch, fu, el)); bad += 1
print("%d combinations checked, %d invariant violations" % (len(pts), bad))
sys.exit(1 if bad or len(pts) == 0 else 0)
PY
echo "$fails failures"
[ "$fails" -eq 0 ]
