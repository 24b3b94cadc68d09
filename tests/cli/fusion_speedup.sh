#!/usr/bin/env bash
# The paper's headline as a regression guard: fusion (optimal) against (fusion none, pipeline
# full) on one network and arch, in timing mode. Cycles are deterministic, so the ratio is exact.
# Fails when the speedup falls below MIN or fusion moves more DRAM bytes than no fusion.
# Usage: fusion_speedup.sh FUSESIM WORKDIR MIN run-args...
set -eu
exe=$1; dir=$2; min=$3; shift 3
rm -rf "$dir"; mkdir -p "$dir"
"$exe" run "$@" --mode timing --pipeline full --fusion none --no-timeline --out "$dir/none" --quiet
"$exe" run "$@" --mode timing --pipeline full --fusion optimal --no-timeline --out "$dir/fused" --quiet
python3 - "$dir" "$min" <<'PY'
import json, sys
d, lo = sys.argv[1], float(sys.argv[2])
n, f = (json.load(open(f"{d}/{k}/report.json")) for k in ("none", "fused"))
bytes_ = lambda r: r["dram_read_bytes"] + r["dram_write_bytes"]
s = n["cycles"] / f["cycles"]
print(f"fusion none {n['cycles']:,} cycles {bytes_(n):,} B; optimal {f['cycles']:,} cycles {bytes_(f):,} B; speedup {s:.3f}x")
sys.exit(0 if s >= lo and bytes_(f) <= bytes_(n) else 1)
PY
