#!/usr/bin/env bash
# An fc chain fused (issue 9): its intermediate vectors stay in NBout, so against the same layers
# unfused the DRAM traffic drops by exactly their store and their load, and nothing else moves.
# Usage: fc_chain.sh FUSESIM WORKDIR FIRST:LAST INTERMEDIATE_BYTES run-args...
#   INTERMEDIATE_BYTES: the bytes of the chain's intermediate vectors (outputs x data size),
#   worked out from the model by the caller.
set -eu
exe=$1; dir=$2; fuse=$3; bytes=$4; shift 4
rm -rf "$dir"; mkdir -p "$dir"
"$exe" run "$@" --mode timing --out "$dir/unfused" --quiet --no-timeline
"$exe" run "$@" --mode timing --out "$dir/fused" --fuse "$fuse" --quiet --no-timeline --emit-schedule "$dir/fused.yaml"
grep -q "layers: \[${fuse%%:*}, .*${fuse##*:}\]" "$dir/fused.yaml" || { echo "no fused group ${fuse} in the schedule"; exit 1; }
python3 - "$dir" "$bytes" <<'PY'
import json, sys
d, saving = sys.argv[1], int(sys.argv[2])
u = json.load(open(d + "/unfused/report.json"))
f = json.load(open(d + "/fused/report.json"))
# dram_read_bytes includes the instruction fetch; the data reads are the rest
data = lambda r: r["dram_read_bytes"] - r["dram_fetch_bytes"]
dr, dw = data(u) - data(f), u["dram_write_bytes"] - f["dram_write_bytes"]
print(f"unfused: {u['cycles']} cycles, data read {data(u)} B, write {u['dram_write_bytes']} B")
print(f"fused:   {f['cycles']} cycles, data read {data(f)} B, write {f['dram_write_bytes']} B")
print(f"saved: read {dr} B, write {dw} B (intermediates: {saving} B)")
ok = dr == saving and dw == saving
sys.exit(0 if ok else 1)
PY
