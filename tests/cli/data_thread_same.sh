#!/usr/bin/env bash
# A functional run with its data on a second thread (--data-thread on, the default) is the run
# on one thread: the same outputs, byte for byte, and the same layers.csv, bandwidth.csv, cycles
# and DRAM bytes; and both outputs pass --check against the reference executor.
# Usage: data_thread_same.sh FUSESIM WORKDIR run-args...
set -eu
exe=$1; dir=$2; shift 2
rm -rf "$dir"; mkdir -p "$dir"
for t in on off; do
  "$exe" run "$@" --data-thread $t --check --no-timeline --out "$dir/$t" --dump-output "$dir/$t.pb" --quiet
done
cmp "$dir/on.pb" "$dir/off.pb"
for f in layers.csv bandwidth.csv; do cmp "$dir/on/$f" "$dir/off/$f"; done
python3 - "$dir/on/report.json" "$dir/off/report.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for k in ("cycles", "dram_read_bytes", "dram_write_bytes", "instructions", "macs"):
    assert a[k] == b[k], f"{k}: {a[k]} with the data thread, {b[k]} without"
print(f"same outputs and reports: {a['cycles']} cycles, {a['dram_read_bytes']} + {a['dram_write_bytes']} DRAM bytes")
PY
