#!/usr/bin/env bash
# A sweep with one impossible point: exit 0, the failure recorded with its error text.
# Usage: failing.sh FUSESIM SPEC WORKDIR
set -eu
fusesim=$1; spec=$2; work=$3
rm -rf "$work"; mkdir -p "$(dirname "$work")"   # ctest may run this before any other test made the work dir
"$fusesim" sweep "$spec" -j 2 --out "$work" >"$work.log" 2>&1 || { echo "sweep exited $?"; cat "$work.log"; exit 1; }
python3 - "$work" <<'PY' || { cat "$work.log"; exit 1; }
import csv, sys
rows = {r["arch.buffers.nbin.bytes"]: r for r in csv.DictReader(open(sys.argv[1] + "/results.csv"))}
assert set(rows) == {"64B", "2KiB"}, rows.keys()
bad, good = rows["64B"], rows["2KiB"]
assert bad["status"] == "failed" and bad["cycles"] == "", bad
assert "no tile fits" in bad["error"] and "(exit 2)" in bad["error"], bad["error"]
assert good["status"] == "ok" and good["error"] == "" and int(good["cycles"]) > 0, good
print("ok: failed point recorded:", bad["error"])
PY
